// SPDX-License-Identifier: Apache-2.0
// Independent check of the Foxglove channels of a fleetsim recording: the
// reference MCAP reader (@mcap/core, McapIndexedReader, the way Foxglove opens a
// file) lists the channels in Foxglove's well-known schemas and decodes their
// JSON messages, as a Map panel would.
//
// Usage: node foxglove.cjs FILE
// Prints a JSON report on stdout: per channel its schema name and encoding,
// message encoding, message count, whether the schema data is a JSON Schema
// titled with the schema's name; for foxglove.GeoJSON the samples (log time,
// features, vehicle ids, lon/lat extent, states) and for foxglove.LocationFix
// the fixes.
"use strict";
const { openIndexed } = require("./open.cjs");

const file = process.argv[2];
if (!file) {
  console.error("usage: node foxglove.cjs FILE");
  process.exit(2);
}
const FOXGLOVE = new Set(["foxglove.GeoJSON", "foxglove.LocationFix"]);
const report = { channels: {}, geojson: [], fixes: [], envelopeChannels: 0 };

function geojsonSample(topic, message) {
  const msg = JSON.parse(new TextDecoder().decode(message.data));
  const fc = JSON.parse(msg.geojson); // the schema's one field: a GeoJSON document as a string
  const s = { topic, logTime: String(message.logTime), type: fc.type, features: fc.features.length, ids: [],
    lon: [Infinity, -Infinity], lat: [Infinity, -Infinity], states: {}, points: 0, socOk: true, named: 0 };
  for (const f of fc.features) {
    if (f.type !== "Feature" || !f.geometry) continue;
    if (f.geometry.type === "Point") s.points++;
    const [lon, lat] = f.geometry.coordinates;
    s.lon = [Math.min(s.lon[0], lon), Math.max(s.lon[1], lon)];
    s.lat = [Math.min(s.lat[0], lat), Math.max(s.lat[1], lat)];
    const p = f.properties ?? {};
    s.ids.push(f.id);
    s.where = s.where ?? {};
    s.where[f.id] = [lon, lat, p.state];
    s.states[p.state] = (s.states[p.state] ?? 0) + 1;
    if (!(p.soc >= 0 && p.soc <= 1)) s.socOk = false;
    if (typeof p.name === "string" && p.name.length && /^#[0-9a-f]{6}$/.test(p.style?.color ?? "")) s.named++;
  }
  return s;
}

async function main() {
  const { reader, close } = await openIndexed(file);
  const topics = [];
  for (const channel of reader.channelsById.values()) {
    const schema = reader.schemasById.get(channel.schemaId);
    if (!schema || !FOXGLOVE.has(schema.name)) {
      report.envelopeChannels += schema?.name === "fleetsim.v1.Envelope" ? 1 : 0;
      continue;
    }
    let title = null;
    try {
      title = JSON.parse(new TextDecoder().decode(schema.data)).title;
    } catch (e) {
      title = `not JSON: ${e.message}`;
    }
    report.channels[channel.topic] = { schema: schema.name, schemaEncoding: schema.encoding,
      messageEncoding: channel.messageEncoding, schemaTitle: title, count: 0 };
    topics.push(channel.topic);
  }
  for await (const message of reader.readMessages({ topics })) {
    const channel = reader.channelsById.get(message.channelId);
    const c = report.channels[channel.topic];
    c.count++;
    if (c.schema === "foxglove.GeoJSON") {
      report.geojson.push(geojsonSample(channel.topic, message));
    } else {
      const fix = JSON.parse(new TextDecoder().decode(message.data));
      report.fixes.push({ logTime: String(message.logTime), latitude: fix.latitude, longitude: fix.longitude,
        sec: fix.timestamp?.sec, covariance: fix.position_covariance, covarianceType: fix.position_covariance_type });
    }
  }
  await close();
}

main().then(
  () => console.log(JSON.stringify(report)),
  (e) => { console.error(`foxglove check failed: ${e.stack || e}`); process.exit(1); });
