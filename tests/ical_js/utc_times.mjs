// Read a JSON list of iCalendar texts on stdin and print, for each text's first VEVENT, the
// start and end ical.js (Mozilla's parser, Thunderbird's) computes, in seconds since the
// epoch, or the error it raised. The tests send a whole sweep at once, so node starts once.
//
// ical.js turns each VTIMEZONE into a Timezone that expands its rules from their DTSTART on;
// like a calendar program, this reader keeps one Timezone per distinct VTIMEZONE text
// instead of expanding the same block again for every invitation.
import ICAL from "ical.js";

const zones = new Map();

function zoneOf(calendar, time) {
  const tzid = time.zone && time.zone.tzid;
  const block = calendar
    .getAllSubcomponents("vtimezone")
    .find((candidate) => candidate.getFirstPropertyValue("tzid") === tzid);
  if (!block) {
    return time.zone; // UTC ("Z") or floating: nothing to look up
  }
  const text = block.toString();
  if (!zones.has(text)) {
    zones.set(text, new ICAL.Timezone({ component: block, tzid }));
  }
  return zones.get(text);
}

function unixTime(calendar, time) {
  const { year, month, day, hour, minute, second, isDate } = time;
  const onClock = new ICAL.Time({ year, month, day, hour, minute, second, isDate }, zoneOf(calendar, time));
  return onClock.toUnixTime();
}

function utcTimes(text) {
  try {
    const calendar = new ICAL.Component(ICAL.parse(text));
    const event = new ICAL.Event(calendar.getFirstSubcomponent("vevent"));
    return { start: unixTime(calendar, event.startDate), end: unixTime(calendar, event.endDate) };
  } catch (error) {
    return { error: String(error) };
  }
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const texts = JSON.parse(Buffer.concat(chunks).toString("utf-8"));
process.stdout.write(JSON.stringify(texts.map(utcTimes)));
