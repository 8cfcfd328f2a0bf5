// SPDX-License-Identifier: Apache-2.0
// Independent check of a fleetsim recording with the reference MCAP reader.
//
// Usage: node check.cjs FILE indexed|stream
//   indexed  McapIndexedReader: needs the summary, chunk and message indexes
//            (what Foxglove and Lichtblick use to open a file)
//   stream   McapStreamReader: reads records in order, checks every CRC; for a
//            file cut short (killed recorder) it reads up to the last record
// Decodes every message with protobufjs from the FileDescriptorSet embedded as
// the channel's schema (the derived Foxglove channels as JSON) and prints a
// JSON report on stdout.
"use strict";
const fs = require("fs");
const { McapStreamReader } = require("@mcap/core");
const { openIndexed } = require("./open.cjs");
const protobuf = require("protobufjs");
const descriptor = require("protobufjs/ext/descriptor");

const [file, mode] = process.argv.slice(2);
if (!file || !["indexed", "stream"].includes(mode)) {
  console.error("usage: node check.cjs FILE indexed|stream");
  process.exit(2);
}

const report = { mode, channels: {}, messages: 0, decoded: 0, schemas: [], vehicleBatches: 0, snapshotBatches: 0,
  maxBatchVehicles: 0, fullRecords: 0, moves: 0, keyframesFull: 0, keyframeMinVehicles: null,
  keyframeMaxVehicles: 0,
  firstBatch: null, tickDone: 0, statistics: null, chunkIndexes: 0, summary: false };
const types = new Map(); // schema id -> protobufjs Type

function typeFor(schema) {
  if (!types.has(schema.id)) {
    if (schema.encoding !== "protobuf") throw new Error(`schema ${schema.name}: encoding ${schema.encoding}`);
    const set = descriptor.FileDescriptorSet.decode(schema.data);
    const root = protobuf.Root.fromDescriptor(set);
    types.set(schema.id, root.lookupType(schema.name));
    report.schemas.push(schema.name);
  }
  return types.get(schema.id);
}

function handle(channel, schema, message) {
  report.messages++;
  const c = report.channels[channel.topic] ??= { count: 0, schema: schema ? schema.name : null,
    encoding: channel.messageEncoding, payload: channel.metadata.get("payload") ?? null };
  c.count++;
  if (schema && schema.encoding === "jsonschema") { // the derived Foxglove channels (/fleet/geojson, ...)
    JSON.parse(new TextDecoder().decode(message.data));
    report.decoded++;
    return;
  }
  const Type = typeFor(schema);
  const env = Type.toObject(Type.decode(message.data), { longs: String, defaults: false });
  report.decoded++;
  const batch = env.vehicle_states ?? env.vehicleStates;
  // veh.state: the records of vehicles that changed in a tick (full records and moves);
  // veh.snapshot: keyframes of every vehicle of a shard, periodic and while a run is paused
  if (batch) {
    const ids = batch.vehicle_id ?? batch.vehicleId ?? [];
    const moveIds = batch.move_vehicle_id ?? batch.moveVehicleId ?? [];
    if (channel.topic === "veh.snapshot") {
      report.snapshotBatches++;
      if (batch.full) report.keyframesFull++;
      report.keyframeMinVehicles = Math.min(report.keyframeMinVehicles ?? ids.length, ids.length);
      report.keyframeMaxVehicles = Math.max(report.keyframeMaxVehicles, ids.length);
    } else {
      report.vehicleBatches++;
      report.fullRecords += ids.length;
      report.moves += moveIds.length;
      report.maxBatchVehicles = Math.max(report.maxBatchVehicles, ids.length + moveIds.length);
      if (!report.firstBatch) {
        const xs = batch.x_m ?? batch.xM ?? [];
        report.firstBatch = { topic: channel.topic, sender: env.sender, tick: env.tick ?? 0, shard: batch.shard ?? 0,
          vehicles: ids.length, moves: moveIds.length, firstId: ids[0], firstX: xs[0],
          originLat: batch.origin_lat ?? batch.originLat, logTime: String(message.logTime),
          simTimeMs: env.sim_time_ms ?? env.simTimeMs };
      }
    }
  }
  if (env.tick_done ?? env.tickDone) report.tickDone++;
}

async function indexed() {
  const { reader, close } = await openIndexed(file);
  report.summary = true;
  report.chunkIndexes = reader.chunkIndexes.length;
  if (reader.statistics) {
    report.statistics = { messageCount: String(reader.statistics.messageCount),
      channelCount: reader.statistics.channelCount, chunkCount: reader.statistics.chunkCount,
      start: String(reader.statistics.messageStartTime), end: String(reader.statistics.messageEndTime) };
  }
  report.metadata = [];
  for await (const m of reader.readMetadata()) report.metadata.push({ name: m.name, keys: [...m.metadata.keys()] });
  report.attachments = [];
  for await (const a of reader.readAttachments()) report.attachments.push({ name: a.name, bytes: a.data.length });
  let last = -1n, ordered = true;
  for await (const message of reader.readMessages()) {
    const channel = reader.channelsById.get(message.channelId);
    if (message.logTime < last) ordered = false;
    last = message.logTime;
    handle(channel, reader.schemasById.get(channel.schemaId), message);
  }
  report.logTimeOrdered = ordered;
  await close();
}

function stream() {
  const reader = new McapStreamReader({ validateCrcs: true });
  reader.append(fs.readFileSync(file));
  const channels = new Map(), schemas = new Map();
  let record;
  while ((record = reader.nextRecord())) {
    if (record.type === "Schema") schemas.set(record.id, record);
    else if (record.type === "Channel") channels.set(record.id, record);
    else if (record.type === "Message") {
      const channel = channels.get(record.channelId);
      handle(channel, schemas.get(channel.schemaId), record);
    } else if (record.type === "Footer") report.summary = true;
  }
  report.complete = reader.done();
  report.bytesLeft = reader.bytesRemaining();
}

(mode === "indexed" ? indexed() : Promise.resolve(stream())).then(
  () => console.log(JSON.stringify(report, null, 1)),
  (e) => { console.error(`mcap check failed: ${e.stack || e}`); process.exit(1); });
