// Read a JSON list of iCalendar texts on stdin and print, for each text's series, its first
// occurrences (at most 60) as ical.js (Thunderbird's parser) shows them: the series' RRULE
// and EXDATEs with every VEVENT carrying a RECURRENCE-ID applied over the occurrence it
// names. Each occurrence is its start in seconds since the epoch, its SUMMARY and its
// LOCATION; or the error ical.js raised.
import ICAL from "ical.js";

function details(text) {
  try {
    const calendar = new ICAL.Component(ICAL.parse(text));
    ICAL.TimezoneService.reset();
    for (const block of calendar.getAllSubcomponents("vtimezone")) {
      ICAL.TimezoneService.register(block);
    }
    const events = calendar.getAllSubcomponents("vevent");
    const master = new ICAL.Event(events.find((e) => !e.hasProperty("recurrence-id")));
    for (const exception of events.filter((e) => e.hasProperty("recurrence-id"))) {
      master.relateException(new ICAL.Event(exception));
    }
    const expansion = master.iterator();
    const found = [];
    for (let next = expansion.next(); next && found.length < 60; next = expansion.next()) {
      const occurrence = master.getOccurrenceDetails(next);
      found.push({
        start: occurrence.startDate.toUnixTime(),
        summary: occurrence.item.summary || "",
        location: occurrence.item.location || "",
      });
    }
    return { occurrences: found };
  } catch (error) {
    return { error: String(error) };
  }
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const texts = JSON.parse(Buffer.concat(chunks).toString("utf-8"));
process.stdout.write(JSON.stringify(texts.map(details)));
