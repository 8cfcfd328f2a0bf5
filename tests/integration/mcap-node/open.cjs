// SPDX-License-Identifier: Apache-2.0
// Open an MCAP file with @mcap/core's McapIndexedReader, the way Foxglove and
// Lichtblick open one (summary, chunk and message indexes), for the checks.
"use strict";
const fs = require("fs");
const { McapIndexedReader } = require("@mcap/core");

// Returns { reader, close }.
async function openIndexed(file) {
  const fd = await fs.promises.open(file, "r");
  const size = (await fd.stat()).size;
  const readable = {
    size: async () => BigInt(size),
    read: async (offset, length) => {
      const buf = Buffer.alloc(Number(length));
      await fd.read(buf, 0, Number(length), Number(offset));
      return buf;
    },
  };
  const reader = await McapIndexedReader.Initialize({ readable });
  return { reader, close: () => fd.close() };
}

module.exports = { openIndexed };
