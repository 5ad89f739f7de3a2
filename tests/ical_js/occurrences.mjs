// Read a JSON list of iCalendar texts on stdin and print, for each text's repeating VEVENT,
// the starts of its first occurrences (at most 60) as ical.js (Thunderbird's parser)
// expands them: its RRULE and EXDATEs, in the zone its own VTIMEZONE describes, in
// seconds since the epoch; or the error ical.js raised.
import ICAL from "ical.js";

function occurrences(text) {
  try {
    const calendar = new ICAL.Component(ICAL.parse(text));
    ICAL.TimezoneService.reset();
    for (const block of calendar.getAllSubcomponents("vtimezone")) {
      ICAL.TimezoneService.register(block);
    }
    const master = calendar
      .getAllSubcomponents("vevent")
      .find((event) => !event.hasProperty("recurrence-id"));
    const event = new ICAL.Event(master);
    const expansion = event.iterator();
    const starts = [];
    for (let next = expansion.next(); next && starts.length < 60; next = expansion.next()) {
      starts.push(next.toUnixTime());
    }
    return { starts };
  } catch (error) {
    return { error: String(error) };
  }
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const texts = JSON.parse(Buffer.concat(chunks).toString("utf-8"));
process.stdout.write(JSON.stringify(texts.map(occurrences)));
