// Read a JSON list of iCalendar texts on stdin and print, for each text's repeating VEVENT,
// its first occurrences (at most 60) as ical.js (Thunderbird's parser) expands them: its
// RRULE and EXDATEs, in the zone its own VTIMEZONE describes, each VEVENT carrying a
// RECURRENCE-ID applied over the occurrence it names. "starts" are the rule's starts in
// seconds since the epoch; "occurrences" are what a calendar shows: start, SUMMARY and
// LOCATION. Or the error ical.js raised.
import ICAL from "ical.js";

function occurrences(text) {
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
    const starts = [];
    const shown = [];
    for (let next = expansion.next(); next && starts.length < 60; next = expansion.next()) {
      starts.push(next.toUnixTime());
      const details = master.getOccurrenceDetails(next);
      shown.push({
        start: details.startDate.toUnixTime(),
        summary: details.item.summary || "",
        location: details.item.location || "",
      });
    }
    return { starts, occurrences: shown };
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
