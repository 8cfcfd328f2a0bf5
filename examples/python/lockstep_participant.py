#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A lockstep participant in Python: everything from docs/bus.md, nothing from fleetsim's C.

It joins a fleetsim run over the bus (the path every participant that is not
fleetsim's C loop takes; the conductor mixes it with participants on its
control socket) as a small analytics service: it counts the vehicle events
the fleet reports. Each tick it

  1. waits until it received every message the Tick's watermarks name on
     topics it subscribes to (Tick.inputs: what the others published in the
     previous tick);
  2. applies those messages sorted by (tick, sender, seq), never in arrival order;
  3. publishes what it computed, a KpiSnapshot on kpi/NAME (`fleetctl echo kpi`
     and the viewer show it; no other service applies it);
  4. answers TickDone with a hash of its state and the watermarks of what it
     published (TickDone.published), so the others could wait for it in turn.

On End it applies the last tick's messages and says Bye with results:
`applied` (event batches of its peers it applied), `events` (events in them)
and `order_errors` (batches applied in any tick but the one after they were
produced: always 0).

Needs Debian's python3-zmq and python3-protobuf and classes generated from the
schemas:  protoc --proto_path=proto --python_out=/tmp/fsproto proto/*.proto

    build/services/fleetsim run --participant py:python --bus ipc:///tmp/demo &
    examples/python/lockstep_participant.py --bus ipc:///tmp/demo \\
        --name py --role python --gen /tmp/fsproto
"""
import argparse
import collections
import hashlib
import os
import struct
import sys
import time

import zmq

MASK64 = (1 << 64) - 1
SUBSCRIPTIONS = ("veh.event",)  # the data topics this participant applies


def endpoint(bus, which):
    if not bus.startswith("ipc://"):
        host, port = bus.rsplit(":", 1)
        return f"{host}:{int(port) + ['pub', 'sub', 'watch', 'tap'].index(which)}"
    return f"{bus}/{which}"


def h64(*parts):
    """A 64-bit hash of bytes/ints: the state hash must not depend on Python's hash seed."""
    d = hashlib.blake2b(digest_size=8)
    for p in parts:
        d.update(p if isinstance(p, bytes) else struct.pack("<Q", p & MASK64))
    return int.from_bytes(d.digest(), "little")


class Participant:
    def __init__(self, args, pb):
        self.env_pb2 = pb
        self.name, self.role, self.seed = args.name, args.role, args.seed
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.SNDHWM, 0)       # lockstep bounds what is in flight
        self.pub.setsockopt(zmq.LINGER, 5000)    # Bye leaves before we exit
        self.pub.connect(endpoint(args.bus, "pub"))
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 0)       # the lossless endpoint: never dropped
        self.sub.setsockopt(zmq.LINGER, 0)
        for t in ("ctl.tick", "ctl.end", f"ctl.hello/{self.name}") + SUBSCRIPTIONS:
            self.sub.setsockopt(zmq.SUBSCRIBE, t.encode())
        self.sub.connect(endpoint(args.bus, "sub"))
        self.seq = 0
        self.topic_seq = collections.Counter()
        self.published = {}                      # topic -> last topic_seq since the last TickDone
        self.seen = {}                           # (sender, topic) -> last topic_seq received
        self.inbox = []
        self.tick, self.sim_time_ms, self.next_tick, self.started = 0, 0, 0, False
        self.state, self.applied, self.events, self.order_errors = 0, 0, 0, 0
        self.events_last_tick = 0

    # --- the bus -------------------------------------------------------------

    def send(self, topic, env):
        """Stamp the envelope's header as docs/bus.md says, and publish [topic][Envelope]."""
        self.seq += 1
        self.topic_seq[topic] += 1
        env.schema_version, env.sender, env.seq = 1, self.name, self.seq
        env.topic_seq, env.tick, env.sim_time_ms = self.topic_seq[topic], self.tick, self.sim_time_ms
        if not topic.startswith("ctl."):
            self.published[topic] = env.topic_seq
        self.pub.send_multipart([topic.encode(), env.SerializeToString()])

    def receive(self, timeout_ms):
        """The next valid message (topic, Envelope), or None on timeout; bad ones are dropped."""
        if not self.sub.poll(timeout_ms):
            return None
        frames = self.sub.recv_multipart()
        if len(frames) != 2:
            return None
        try:
            env = self.env_pb2.Envelope.FromString(frames[1])
        except Exception:  # noqa: BLE001 - any decode failure is a bad message
            return None
        topic = frames[0].decode("ascii", "replace")
        if env.schema_version != 1 or not env.sender:
            return None
        self.seen[(env.sender, topic)] = env.topic_seq
        return topic, env

    def handshake(self):
        """Hellos until ours comes back through the broker (ZeroMQ's slow joiner)."""
        nonce = int.from_bytes(os.urandom(8), "little")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            env = self.env_pb2.Envelope()
            env.hello.nonce = nonce
            self.send(f"ctl.hello/{self.name}", env)
            until = time.monotonic() + 0.025
            while time.monotonic() < until:
                got = self.receive(5)
                if got and got[1].WhichOneof("payload") == "hello" and got[1].hello.nonce == nonce:
                    self.sub.setsockopt(zmq.UNSUBSCRIBE, f"ctl.hello/{self.name}".encode())
                    return
                if got:
                    self.keep(*got)
        raise SystemExit(f"{self.name}: no answer from the broker")

    # --- lockstep --------------------------------------------------------------

    def keep(self, topic, env):
        """Data for a later tick; control messages are handled by the loop."""
        if env.sender != self.name and any(topic.startswith(s) for s in SUBSCRIPTIONS) \
                and env.WhichOneof("payload") == "vehicle_events":
            self.inbox.append(env)

    def wait_inputs(self, inputs):
        for w in inputs:
            if w.sender == self.name or not any(w.topic.startswith(s) for s in SUBSCRIPTIONS):
                continue
            waited = time.monotonic()
            while self.seen.get((w.sender, w.topic), 0) < w.topic_seq:
                got = self.receive(1000)
                if got:
                    self.keep(*got)
                elif time.monotonic() - waited > 10:
                    print(f"{self.name}: still waiting for {w.sender}'s {w.topic} #{w.topic_seq}",
                          file=sys.stderr)
                    waited = time.monotonic()

    def apply_inbox(self, before_tick, produced_in):
        """Apply what was produced before @before_tick; all of it should be from tick @produced_in.

        (A participant that subscribes to the conductor's scn.cmd/apply also applies, at tick 0,
        what Tick 0's inputs name: the events due then carry tick 0. docs/bus.md step 3.)
        """
        self.inbox.sort(key=lambda e: (e.tick, e.sender, e.seq))
        keep = []
        for env in self.inbox:
            if env.tick >= before_tick:
                keep.append(env)  # produced in this tick by a faster peer: next time
                continue
            if env.tick != produced_in:
                self.order_errors += 1
            values = b"".join(struct.pack("<Idq", e.vehicle_id, e.value, e.sim_time_ms)
                             for e in env.vehicle_events.events)
            self.state = h64(self.state.to_bytes(8, "little"), env.sender.encode(), env.tick,
                             env.topic_seq, values)
            self.applied += 1
            self.events += len(env.vehicle_events.events)
            self.events_last_tick += len(env.vehicle_events.events)
        self.inbox = keep

    def on_tick(self, tick):
        env = self.env_pb2.Envelope()
        env.kpis.kpis.add(name="vehicle_events.last_tick", value=float(self.events_last_tick))
        env.kpis.kpis.add(name="vehicle_events.total", value=float(self.events))
        self.events_last_tick = 0
        self.send(f"kpi/{self.name}", env)

    def tick_done(self, tick, started):
        env = self.env_pb2.Envelope()
        done = env.tick_done
        done.tick = tick
        done.state_hash = h64(self.state.to_bytes(8, "little"), self.seed, tick)
        done.work_us = int((time.monotonic() - started) * 1e6)
        for topic, topic_seq in sorted(self.published.items()):
            done.published.add(topic=topic, topic_seq=topic_seq)
        self.published.clear()
        self.send("ctl.done", env)

    def run(self):
        self.handshake()
        next_ready = 0.0
        while True:
            if not self.started and time.monotonic() >= next_ready:
                env = self.env_pb2.Envelope()
                env.ready.participant, env.ready.role = self.name, self.role
                env.ready.pid, env.ready.shard_count = os.getpid(), 1
                env.ready.version = "python-example"
                self.send("ctl.ready", env)  # repeated until tick 0: the conductor may join late
                next_ready = time.monotonic() + 0.25
            got = self.receive(250)
            if not got:
                continue
            topic, env = got
            kind = env.WhichOneof("payload")
            if kind not in ("tick_start", "end"):
                self.keep(topic, env)
                continue
            if env.sender != "conductor":
                continue  # only the conductor drives the lockstep
            if kind == "end":
                self.wait_inputs(env.end.inputs)
                self.apply_inbox(1 << 64, self.next_tick - 1)
                bye = self.env_pb2.Envelope()
                bye.bye.participant = self.name
                bye.bye.results.add(key="applied", value=float(self.applied))
                bye.bye.results.add(key="events", value=float(self.events))
                bye.bye.results.add(key="order_errors", value=float(self.order_errors))
                self.send("ctl.bye", bye)
                return 0
            t = env.tick_start
            if t.tick != self.next_tick:
                continue  # a copy of a Tick already taken
            started = time.monotonic()
            self.next_tick = t.tick + 1
            self.wait_inputs(t.inputs)
            self.tick, self.sim_time_ms = t.tick, t.sim_time_ms
            self.apply_inbox(t.tick, t.tick - 1)
            self.started = True
            self.on_tick(t.tick)
            self.tick_done(t.tick, started)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bus", required=True, help="bus address, e.g. ipc:///tmp/fleetsim-1000")
    ap.add_argument("--name", required=True, help="participant name, as in the conductor's --participants")
    ap.add_argument("--role", default="python", help="its role there (default python)")
    ap.add_argument("--gen", required=True, help="directory of the protoc --python_out modules")
    ap.add_argument("--seed", type=int, default=1, help="folded into the state hash (default 1)")
    args = ap.parse_args()
    sys.path.insert(0, args.gen)
    import envelope_pb2  # noqa: E402  (generated by protoc)
    return Participant(args, envelope_pb2).run()


if __name__ == "__main__":
    sys.exit(main())
