// Read a JSON list of iCalendar texts on stdin and print, for each text's first VEVENT, its
// CONFERENCE properties as ical.js (Mozilla's parser, Thunderbird's) reads them: the value,
// its type, and the FEATURE and LABEL parameters.
import ICAL from "ical.js";

function conferences(text) {
  try {
    const event = new ICAL.Component(ICAL.parse(text)).getFirstSubcomponent("vevent");
    return event.getAllProperties("conference").map((property) => ({
      value: property.getFirstValue(),
      type: property.type,
      feature: property.getParameter("feature"),
      label: property.getParameter("label"),
      location: event.getFirstPropertyValue("location"),
    }));
  } catch (error) {
    return { error: String(error) };
  }
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const texts = JSON.parse(Buffer.concat(chunks).toString("utf-8"));
process.stdout.write(JSON.stringify(texts.map(conferences)));
