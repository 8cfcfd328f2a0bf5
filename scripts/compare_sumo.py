#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fleetsim and SUMO on identical inputs (scripts/compare-sumo; docs/comparison.md).

Builds one road network for both: a grid from SUMO's netgenerate, written out
as fleetsim's CSV network with the same junctions, lengths and speeds
(--network grid), or a cut of an OpenStreetMap extract that both read
(--network osm: osmium cuts it, netconvert builds SUMO's network with OSM's
signals and fleetsim's default speeds, fleetsim loads the same .osm). Draws
one fleet (taxis at given junctions) and one set of ride requests (seeded);
runs SUMO's taxi device (greedy dispatch) and fleetsim (greedy and batch
matchers, with its street model as configured and in free flow); reads SUMO's
tripinfo and stop output and fleetsim's trips.csv / summary.json with the
same definitions, and prints the Markdown tables of docs/comparison.md (one
row per simulator and setting; then the same riders, ride by ride).

Definitions, the same for both simulators (served riders only):
  wait        the car stands at the pickup - the request
  in-vehicle  the rider has boarded - the car stands at the drop-off
  ride km     distance driven with the rider aboard
  ride speed  mean ride km / mean in-vehicle time
  empty km    km driven without a rider / all km driven by the fleet
Boarding and alighting take the same fixed time in both (SUMO's
boardingDuration serves both), and neither is part of wait or in-vehicle.
"""

import argparse
import csv
import json
import math
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", help="work and output directory (default out/compare-sumo/NETWORK)")
    p.add_argument("--fleetsim", default=os.path.join(ROOT, "build", "services", "fleetsim"))
    p.add_argument("--network", choices=("grid", "osm"), default="grid",
                   help="grid: netgenerate's grid; osm: a cut of an OpenStreetMap extract")
    p.add_argument("--osm", default=os.path.join(ROOT, "data", "osm", "atlanta.osm.pbf"), help="(osm) extract")
    p.add_argument("--bbox", default="-84.400,33.745,-84.375,33.765",
                   help="(osm) lon,lat,lon,lat of the cut (default: downtown Atlanta, 2.3 x 2.2 km)")
    p.add_argument("--no-signals", action="store_true",
                   help="(osm) leave OSM's traffic signals out of both (SUMO: no programs; fleetsim: "
                        "traffic.signal_cycle 0 s): what the signals cost each")
    p.add_argument("--seed", type=int, default=1, help="seed of the fleet, the requests, SUMO and fleetsim")
    p.add_argument("--grid", type=int, default=20, help="(grid) junctions per side")
    p.add_argument("--block", type=float, default=150.0, help="(grid) block length, m")
    p.add_argument("--speed", type=float, default=13.89, help="(grid) speed limit, m/s (50 km/h)")
    p.add_argument("--taxis", type=int, default=50)
    p.add_argument("--requests-per-hour", type=float, default=300.0)
    p.add_argument("--demand-window", type=float, default=3600.0, help="requests arrive in [0, this) s")
    p.add_argument("--duration", type=float, default=5400.0, help="simulated s, both simulators")
    p.add_argument("--min-trip", type=float, default=300.0, help="shortest beeline of a request, m")
    p.add_argument("--board", type=float, default=30.0, help="boarding and alighting time, s (both)")
    p.add_argument("--period", type=float, default=10.0, help="dispatch period, s (both)")
    p.add_argument("--sumo-sigma", type=float,
                   help="SUMO's driver imperfection (Krauss sigma; default SUMO's own, 0.5)")
    p.add_argument("--repeat", type=int, default=1, help="run each this often; wall and CPU time: the least")
    p.add_argument("--quick", action="store_true", help="only SUMO right-before-left and fleetsim greedy (tests)")
    p.add_argument("--bus-prefix", default=f"ipc:///tmp/fs-compare-sumo-{os.getuid()}-{os.getpid()}")
    a = p.parse_args()
    if a.no_signals and a.network != "osm":
        p.error("--no-signals needs --network osm (the grid has no signals)")
    a.out = a.out or os.path.join(ROOT, "out", "compare-sumo", a.network + ("-nosignals" if a.no_signals else ""))
    return a


# ---- the network --------------------------------------------------------------------------

class Net:
    """Junctions and streets as SUMO built them, and as fleetsim reads them."""

    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.nodes = {}  # SUMO junction id -> (x, y)
        for j in root.iter("junction"):
            if j.get("type") != "internal":
                self.nodes[j.get("id")] = (float(j.get("x")), float(j.get("y")))
        self.edges = {}  # SUMO edge id -> dict(from, to, lane_len, speed, shape)
        for e in root.iter("edge"):
            if e.get("function"):  # internal (junction) and other special edges
                continue
            lane = e.find("lane")
            shape = [tuple(map(float, pt.split(","))) for pt in lane.get("shape").split()]
            self.edges[e.get("id")] = {
                "from": e.get("from"), "to": e.get("to"), "lane_len": float(lane.get("length")),
                "speed": float(lane.get("speed")), "shape": shape,
            }
        self.successors = {e: [] for e in self.edges}  # what SUMO lets a car turn into
        for c in root.iter("connection"):
            if c.get("from") in self.edges and c.get("to") in self.edges:
                self.successors[c.get("from")].append(c.get("to"))
        # fleetsim node ids: file order; edges sorted by (from, to) so that
        # fleetsim's edge ids (CSR order by from, file order within) are the row order.
        self.node_ids = sorted(self.nodes, key=lambda n: (self.nodes[n][1], self.nodes[n][0], n))
        self.index = {n: i for i, n in enumerate(self.node_ids)}
        self.edge_ids = sorted(self.edges, key=lambda e: (self.index[self.edges[e]["from"]],
                                                          self.index[self.edges[e]["to"]], e))

    def centre_length(self, eid):
        e = self.edges[eid]
        (x0, y0), (x1, y1) = self.nodes[e["from"]], self.nodes[e["to"]]
        return math.hypot(x1 - x0, y1 - y0)

    def largest_scc(self):
        """The edges of the largest strongly connected set (by SUMO's connections):
        every ride between two of them can be driven (Kosaraju, iterative)."""
        order, seen = [], set()
        for root in self.edge_ids:
            if root in seen:
                continue
            seen.add(root)
            stack = [(root, iter(self.successors[root]))]
            while stack:
                e, it = stack[-1]
                nxt = next((n for n in it if n not in seen), None)
                if nxt is None:
                    order.append(e)
                    stack.pop()
                else:
                    seen.add(nxt)
                    stack.append((nxt, iter(self.successors[nxt])))
        back = {e: [] for e in self.edges}
        for e, succ in self.successors.items():
            for n in succ:
                back[n].append(e)
        best, seen = set(), set()
        for root in reversed(order):
            if root in seen:
                continue
            comp, stack = {root}, [root]
            seen.add(root)
            while stack:
                for n in back[stack.pop()]:
                    if n not in seen:
                        seen.add(n)
                        comp.add(n)
                        stack.append(n)
            best = max(best, comp, key=len)
        return best

    def neighbours(self, node):
        return {self.edges[e]["to"] for e in self.edges if self.edges[e]["from"] == node} | \
               {self.edges[e]["from"] for e in self.edges if self.edges[e]["to"] == node}

    def first_edge_into(self, node):
        """fleetsim stands a vehicle at the end of the lowest-id edge into its node."""
        return next(e for e in self.edge_ids if self.edges[e]["to"] == node)

    def point(self, eid, pos):
        """The point @pos metres along the lane of @eid (SUMO's position on the edge)."""
        shape = self.edges[eid]["shape"]
        total = sum(math.dist(a, b) for a, b in zip(shape, shape[1:]))
        # lane positions are scaled to the lane length when the shape is shorter or longer
        left = pos * total / self.edges[eid]["lane_len"]
        for a, b in zip(shape, shape[1:]):
            d = math.dist(a, b)
            if left <= d or b == shape[-1]:
                f = min(1.0, left / d) if d > 0 else 0.0
                return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
            left -= d
        return shape[-1]

    def write_fleetsim_csv(self, nodes_csv, edges_csv):
        with open(nodes_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "x", "y"])
            for i, n in enumerate(self.node_ids):
                w.writerow([i, f"{self.nodes[n][0]:.2f}", f"{self.nodes[n][1]:.2f}"])
        with open(edges_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["from", "to", "length_m", "speed_mps", "lanes", "name"])
            for eid in self.edge_ids:
                e = self.edges[eid]
                w.writerow([self.index[e["from"]], self.index[e["to"]], f"{self.centre_length(eid):.2f}",
                            f"{e['speed']:.2f}", 1, eid])


def netgenerate_grid(a, path, junction_type):
    run_checked(["netgenerate", "--grid", "--grid.number", str(a.grid), "--grid.length", str(a.block),
                 "--default.lanenumber", "1", "--default.speed", str(a.speed),
                 "--default-junction-type", junction_type, "--tls.guess", "false",
                 "--seed", str(a.seed), "-o", path])


# fleetsim's speeds where OSM has no maxspeed (fs_osm_params_defaults(), loaders/src/fs_network_osm.c),
# given to SUMO too; and the ways both keep: fleetsim drives service roads that SUMO's
# type map closes to cars, so those (and every class outside this list) are left out.
FLEETSIM_KMH = {"motorway": 97, "trunk": 72, "primary": 56, "secondary": 48, "tertiary": 40,
                "unclassified": 40, "residential": 40, "motorway_link": 56, "trunk_link": 48,
                "primary_link": 48, "secondary_link": 40, "tertiary_link": 40}


def osm_cut(a, d):
    """Cut a.bbox out of a.osm, keep the drivable ways both simulators read alike."""
    raw = f"{d}/cut-raw.osm"
    run_checked(["osmium", "extract", "--overwrite", "-b", a.bbox, a.osm, "-o", raw])
    tree = ET.parse(raw)
    root = tree.getroot()
    closed = {"no", "private"}
    for w in root.findall("way"):
        t = {x.get("k"): x.get("v") for x in w.findall("tag")}
        if t.get("highway") not in FLEETSIM_KMH or t.get("area") == "yes" or \
                closed & {t.get("access"), t.get("motor_vehicle"), t.get("motorcar")}:
            root.remove(w)
    tree.write(f"{d}/cut.osm", encoding="utf-8", xml_declaration=True)
    lat_lon = {n.get("id"): (float(n.get("lat")), float(n.get("lon"))) for n in root.iter("node")}
    return f"{d}/cut.osm", lat_lon


def netconvert_osm(a, d, osm):
    """SUMO's network of the cut: OSM's signals (SUMO's recommended OSM options; none with
    a.no_signals), fleetsim's speeds."""
    types = open(os.path.join(os.environ["SUMO_HOME"], "data", "typemap", "osmNetconvert.typ.xml")).read()
    for cls, kmh in FLEETSIM_KMH.items():
        types = re.sub(rf'(<type id="highway\.{cls}"[^>]*speed=")[0-9.]+', rf"\g<1>{kmh / 3.6:.2f}", types)
    with open(f"{d}/fleetsim-speeds.typ.xml", "w") as f:
        f.write(types)
    path = f"{d}/osm.net.xml"
    signals = ["--tls.discard-loaded"] if a.no_signals else \
        ["--tls.guess-signals", "--tls.discard-simple", "--tls.join"]
    run_checked(["netconvert", "--osm-files", osm, "--type-files", f"{d}/fleetsim-speeds.typ.xml",
                 "--keep-edges.by-vclass", "passenger", "--keep-edges.components", "1",
                 "--geometry.remove", "--junctions.join", *signals, "--no-warnings", "-o", path])
    return path


def solve3(m, v):
    """x with m x = v (3 x 3, Gauss-Jordan with pivoting)."""
    rows = [list(r) + [b] for r, b in zip(m, v)]
    for i in range(3):
        p = max(range(i, 3), key=lambda r: abs(rows[r][i]))
        rows[i], rows[p] = rows[p], rows[i]
        for r in range(3):
            if r != i:
                f = rows[r][i] / rows[i][i]
                rows[r] = [x - f * y for x, y in zip(rows[r], rows[i])]
    return [rows[i][3] / rows[i][i] for i in range(3)]


def geo_of_xy(net, lat_lon):
    """SUMO's x, y -> latitude, longitude: an affine fit over the junctions that are OSM
    nodes (a few km of UTM: the fit is within a metre, checked)."""
    pts = [(net.nodes[j], lat_lon[j]) for j in net.nodes if j in lat_lon]
    m = [[sum(p[0][i] * p[0][k] for p in pts) for k in (0, 1)] + [sum(p[0][i] for p in pts)] for i in (0, 1)]
    m.append([sum(p[0][0] for p in pts), sum(p[0][1] for p in pts), len(pts)])
    coef = [solve3(m, [sum(p[0][0] * p[1][c] for p in pts), sum(p[0][1] * p[1][c] for p in pts),
                       sum(p[1][c] for p in pts)]) for c in (0, 1)]

    def geo(xy):
        return tuple(c[0] * xy[0] + c[1] * xy[1] + c[2] for c in coef)
    worst = max(math.dist(((geo(xy)[0] - ll[0]) * 111320.0, (geo(xy)[1] - ll[1]) * 111320.0 *
                          math.cos(math.radians(ll[0]))), (0, 0)) for xy, ll in pts)
    assert worst < 1.0, f"x, y to lat, lon fit off by {worst:.2f} m"
    return geo


# ---- fleet and requests -------------------------------------------------------------------

def draw_inputs(a, net, starts, edges):
    """Taxis at distinct junctions of @starts, each on its SUMO edge into it; requests
    (Poisson in time) at uniform places along @edges, at least a.min_trip apart."""
    if a.taxis > len(starts):
        sys.exit(f"compare-sumo: {a.taxis} taxis need as many junctions to start at; this network has {len(starts)}")
    rng = random.Random(a.seed)
    nodes = rng.sample(sorted(starts), a.taxis)
    fleet = [(i, n, starts[n]) for i, n in enumerate(nodes)]
    margin = 5.0
    usable = [e for e in net.edge_ids if e in edges and net.edges[e]["lane_len"] > 2 * margin + 1]
    weights = [net.edges[e]["lane_len"] for e in usable]
    requests = []
    t = 0.0
    while True:
        t += rng.expovariate(a.requests_per_hour / 3600.0)
        if t >= a.demand_window:
            break
        while True:
            eo, ed = rng.choices(usable, weights, k=2)
            po = rng.uniform(margin, net.edges[eo]["lane_len"] - margin)
            pd = rng.uniform(margin, net.edges[ed]["lane_len"] - margin)
            o, d = net.point(eo, po), net.point(ed, pd)
            if eo != ed and math.dist(o, d) >= a.min_trip:
                break
        requests.append({"t": int(t), "from": eo, "pos": po, "to": ed, "arrival": pd, "o": o, "d": d})
    return fleet, requests


def write_inputs(a, net, fleet, requests, d, node_id, geo):
    """fleet.csv (@node_id: fleetsim's id of a junction), demand.csv (x, y in metres, or
    latitude and longitude when @geo converts), sumo.rou.xml."""
    with open(f"{d}/fleet.csv", "w") as f:
        f.write("vehicle_id,node,soc\n")
        for i, n, _ in fleet:
            f.write(f"{i},{node_id(n)},0.9\n")
    with open(f"{d}/demand.csv", "w") as f:
        if geo:
            f.write("t_request_s,origin_lat,origin_lon,dest_lat,dest_lon\n")
            for r in requests:
                (la0, lo0), (la1, lo1) = geo(r["o"]), geo(r["d"])
                f.write(f"{r['t']},{la0:.7f},{lo0:.7f},{la1:.7f},{lo1:.7f}\n")
        else:
            f.write("t_request_s,origin_x,origin_y,dest_x,dest_y\n")
            for r in requests:
                f.write(f"{r['t']},{r['o'][0]:.2f},{r['o'][1]:.2f},{r['d'][0]:.2f},{r['d'][1]:.2f}\n")
    # SUMO: taxis that start where fleetsim's do (the end of the same edge), stop
    # there idle, drive at the limit (no speed deviation: fleetsim's cars keep it),
    # and one person a ride. The taxi device's own stop times (pickUpDuration 0 s,
    # dropOffDuration 60 s by default) are set to 0, so a car stands at the kerb
    # while its rider boards or alights: a.board seconds, as in fleetsim.
    with open(f"{d}/sumo.rou.xml", "w") as f:
        f.write('<routes>\n')
        sigma = "" if a.sumo_sigma is None else f'sigma="{a.sumo_sigma:g}" '
        f.write(f'  <vType id="taxi" vClass="taxi" personCapacity="1" speedDev="0" {sigma}'
                f'boardingDuration="{a.board:g}">\n'
                '    <param key="has.taxi.device" value="true"/>\n'
                '    <param key="device.taxi.pickUpDuration" value="0"/>\n'
                '    <param key="device.taxi.dropOffDuration" value="0"/>\n  </vType>\n')
        for i, _, eid in fleet:
            pos = max(0.0, net.edges[eid]["lane_len"] - 1.0)
            f.write(f'  <vehicle id="taxi{i}" type="taxi" depart="0" departPos="{pos:.2f}" line="taxi">'
                    f'<route edges="{eid}"/></vehicle>\n')
        for k, r in enumerate(requests):
            f.write(f'  <person id="p{k}" depart="{r["t"]}" departPos="{r["pos"]:.2f}">'
                    f'<ride from="{r["from"]}" to="{r["to"]}" arrivalPos="{r["arrival"]:.2f}" lines="taxi"/>'
                    '</person>\n')
        f.write('</routes>\n')


# ---- running ------------------------------------------------------------------------------

def run_checked(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        sys.exit(f"compare-sumo: {cmd[0]} failed (exit {r.returncode})")
    return r


def timed(a, cmd):
    """(wall, cpu) seconds of @cmd, each the least of a.repeat runs (the runs are
    deterministic). cpu: user + system time of every process of the run (fleetsim's
    launcher waits for its children), which other work on the machine barely moves."""
    wall = cpu = float("inf")
    for _ in range(max(1, a.repeat)):
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
        run_checked(cmd)
        t1, r1 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = min(wall, t1 - t0)
        cpu = min(cpu, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return wall, cpu


def run_sumo(a, d, name, net_xml):
    out = f"{d}/{name}"
    os.makedirs(out, exist_ok=True)
    times = timed(a, ["sumo", "-n", net_xml, "-r", f"{d}/sumo.rou.xml", "--seed", str(a.seed),
                  "--end", str(int(a.duration)), "--no-step-log", "--no-warnings",
                  "--xml-validation", "never", "--xml-validation.net", "never",
                  "--device.taxi.dispatch-algorithm", "greedy",
                  "--device.taxi.dispatch-period", str(a.period), "--device.taxi.idle-algorithm", "stop",
                  "--tripinfo-output", f"{out}/tripinfo.xml", "--tripinfo-output.write-unfinished",
                  "--stop-output", f"{out}/stops.xml", "--stop-output.write-unfinished",
                  "--statistic-output", f"{out}/statistics.xml"])
    return read_sumo(a, out, times)


def fleetsim_scenario(a, matcher, traffic):
    zero = "{degrade_per_h: 0, fail_per_h: 0}"
    return f"""# written by scripts/compare-sumo
seed: {a.seed}
start: 2028-06-01T12:00:00Z   # 08:00 in Atlanta (EDT): the hour of "traffic defaults"
duration: {int(a.duration)}s
fleet:
  software: [{{version: "1.2", miles_per_disengagement: 1e9, ra_per_1000km: 0, odd: [], share: 1}}]
demand: {{patience: 2h}}
riders: {{patience: 2h, no_show: 0, board: {{median: {a.board:g}s, p95: {a.board:g}s}}, alight: {{median: {a.board:g}s, p95: {a.board:g}s}}}}
dispatch: {{matcher: {matcher}, batch: {a.period:g}s, rebalance: 0, charging: false}}
traffic: {traffic}
vehicle:
  faults: {{camera: {zero}, radar: {zero}, lidar: {zero}, ultrasonic: {zero}, thor: {zero}}}
"""


def run_fleetsim(a, d, name, matcher, traffic, network):
    out = f"{d}/{name}"
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(f"{out}/scenario.yaml", "w") as f:
        f.write(fleetsim_scenario(a, matcher, traffic))
    times = timed(a, [a.fleetsim, "run", "--quiet", "--scenario", f"{out}/scenario.yaml",
                  "--network", network, "--vehicles", str(a.taxis),
                  "--fleet-csv", f"{d}/fleet.csv", "--demand-csv", f"{d}/demand.csv",
                  "--out", out, "--bus", f"{a.bus_prefix}-{name}"])
    return read_fleetsim(out, times)


# ---- reading results ----------------------------------------------------------------------

def quantile(xs, q):
    """Type-7 quantile (fleetsim's summary uses the same)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    h = (len(s) - 1) * q
    lo = math.floor(h)
    return s[lo] + (h - lo) * (s[min(lo + 1, len(s) - 1)] - s[lo])


def figures(requests, rides, km_total, km_empty, times, extra=""):
    """@rides: request index -> (wait s, in-vehicle s, ride m) of each served rider."""
    waits = [r[0] for r in rides.values()]
    in_vehicle = [r[1] for r in rides.values()]
    ride_m = [r[2] for r in rides.values()]
    n = len(waits)
    mean = statistics.fmean if n else (lambda xs: float("nan"))
    iv, km = mean(in_vehicle), mean(ride_m) / 1000.0
    return {
        "requests": requests, "served": n, "wait_mean": mean(waits), "wait_p50": quantile(waits, 0.5),
        "wait_p95": quantile(waits, 0.95), "in_vehicle": iv, "ride_km": km,
        "ride_kmh": km / iv * 3600.0 if n and iv > 0 else float("nan"),
        "empty_share": km_empty / km_total if km_total > 0 else float("nan"),
        "km_total": km_total, "wall": times[0], "cpu": times[1], "extra": extra, "rides": rides,
    }


def sumo_stops(out):
    """Each taxi's stops in time order: (started, ended, loaded, unloaded)."""
    stops = {}
    for s in ET.parse(f"{out}/stops.xml").getroot().iter("stopinfo"):
        stops.setdefault(s.get("id"), []).append((float(s.get("started")), float(s.get("ended")),
                                                  int(s.get("loadedPersons")), int(s.get("unloadedPersons"))))
    for v in stops.values():
        v.sort()
    return stops


def read_sumo(a, out, times):
    root = ET.parse(f"{out}/tripinfo.xml").getroot()
    stops = sumo_stops(out)
    rides = {}
    requests = 0
    for p in root.iter("personinfo"):
        requests += 1
        ride = p.find("ride")
        if ride is None or float(ride.get("arrival")) < 0:
            continue
        # the ride starts when boarding ends: that is the end of the taxi's pickup stop;
        # the drop-off is its next stop that unloads someone
        own = stops[ride.get("vehicle")]
        k = next(i for i, s in enumerate(own) if s[2] > 0 and abs(s[1] - float(ride.get("depart"))) < 0.5)
        drop = next(s for s in own[k + 1:] if s[3] > 0)
        rides[int(p.get("id")[1:])] = (own[k][0] - float(p.get("depart")), drop[0] - own[k][1],
                                       float(ride.get("routeLength")))
    km_total = km_empty = 0.0
    for t in root.iter("tripinfo"):
        taxi = t.find("taxi")
        if taxi is None:
            continue
        driven = float(t.get("routeLength")) / 1000.0
        km_total += driven
        km_empty += driven - float(taxi.get("occupiedDistance")) / 1000.0
    stats = ET.parse(f"{out}/statistics.xml").getroot()
    tele = stats.find("teleports")
    extra = f"teleports {tele.get('total')}" if tele is not None else ""
    return figures(requests, rides, km_total, km_empty, times, extra)


def read_fleetsim(out, times):
    with open(f"{out}/trips.csv") as f:
        rows = list(csv.DictReader(f))
    served = [r for r in rows if r["t_dropoff_s"]]
    d = json.load(open(f"{out}/summary.json"))["results"]["dispatch"]
    rides = {int(r["demand_id"]): (float(r["wait_s"]), float(r["in_vehicle_s"]), float(r["trip_m"]))
             for r in served}
    return figures(len(rows), rides, d["km_total"], d["km_empty"], times)


# ---- the table ----------------------------------------------------------------------------

def table(rows):
    head = ("| simulator, setting | served | wait mean | p50 | p95 | in-vehicle | ride km | ride speed "
            "| empty km | wall (CPU) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for label, r in rows:
        note = f" ({r['extra']})" if r["extra"] else ""
        lines.append(f"| {label}{note} | {r['served']} / {r['requests']} | {r['wait_mean']:.0f} s "
                     f"| {r['wait_p50']:.0f} s | {r['wait_p95']:.0f} s | {r['in_vehicle']:.0f} s "
                     f"| {r['ride_km']:.2f} | {r['ride_kmh']:.1f} km/h | {100 * r['empty_share']:.1f} % "
                     f"| {r['wall']:.1f} s ({r['cpu']:.1f} s) |")
    return "\n".join(lines)


def paired(rows):
    """The same riders in both: per-ride ratios SUMO / fleetsim against the first SUMO row."""
    ref_label, ref = rows[0]
    lines = [f"Same riders, ride by ride: {ref_label} / each fleetsim setting (median and middle half "
             "of the per-ride ratios)\n",
             "| fleetsim setting | riders in both | in-vehicle time | ride km | wait |",
             "|---|---:|---:|---:|---:|"]

    def ratio(k, both, fs):
        xs = [ref["rides"][i][k] / fs[i][k] for i in both if fs[i][k] > 0]
        return f"{quantile(xs, 0.5):.2f} ({quantile(xs, 0.25):.2f}-{quantile(xs, 0.75):.2f})"
    for label, r in rows:
        if label.startswith("fleetsim"):
            both = sorted(set(ref["rides"]) & set(r["rides"]))
            lines.append(f"| {label[len('fleetsim, '):]} | {len(both)} | {ratio(1, both, r['rides'])} "
                         f"| {ratio(2, both, r['rides'])} | {ratio(0, both, r['rides'])} |")
    return "\n".join(lines)


FREE_FLOW = ("{speed_profile: none, signal_cycle: 0s, stop_delay: 0s, give_way_delay: 0s, "
             "equal_delay: 0s, bpr_alpha: 0}")
JUNCTIONS_ONLY = "{speed_profile: none}"


def setup_grid(a, d, quick):
    """The grid: SUMO's nets by junction type, fleetsim's CSV network, inputs."""
    nets = {"right-before-left junctions": f"{d}/grid-rbl.net.xml", "priority junctions": f"{d}/grid-priority.net.xml"}
    kinds = list(nets)[:1] if quick else list(nets)
    for kind in kinds:
        netgenerate_grid(a, nets[kind], kind.split()[0].replace("-", "_"))
    net = Net(nets[kinds[0]])
    for kind in kinds[1:]:
        other = Net(nets[kind])
        assert other.nodes == net.nodes and {e: (v["from"], v["to"]) for e, v in other.edges.items()} == \
            {e: (v["from"], v["to"]) for e, v in net.edges.items()}, "grids differ"
    net.write_fleetsim_csv(f"{d}/nodes.csv", f"{d}/edges.csv")
    # fleetsim stands a car at the end of the lowest-id edge into its node: SUMO's taxi too
    fleet, requests = draw_inputs(a, net, {n: net.first_edge_into(n) for n in net.node_ids}, set(net.edges))
    write_inputs(a, net, fleet, requests, d, lambda n: net.index[n], None)
    blocks = a.grid - 1
    what = (f"{a.grid}x{a.grid} grid ({blocks}x{blocks} blocks of {a.block:g} m, one lane each way, "
            f"{a.speed:g} m/s, no signals)")
    return what, {k: nets[k] for k in kinds}, f"csv:{d}/nodes.csv,{d}/edges.csv", len(requests)


def setup_osm(a, d):
    """A cut of a real street network: the same .osm file for both."""
    osm, lat_lon = osm_cut(a, d)
    path = netconvert_osm(a, d, osm)
    net = Net(path)
    scc = net.largest_scc()
    # taxis start at junctions that are OSM nodes where ways cross (so graph nodes of
    # fleetsim too), on an edge of the strongly connected set into them
    starts = {}
    for e in net.edge_ids:
        n = net.edges[e]["to"]
        if e in scc and n in lat_lon and n not in starts and len(net.neighbours(n)) >= 3:
            starts[n] = e
    fleet, requests = draw_inputs(a, net, starts, scc)
    write_inputs(a, net, fleet, requests, d, lambda n: n, geo_of_xy(net, lat_lon))
    signals = sum(1 for _ in ET.parse(path).getroot().iter("tlLogic"))
    what = (f"OpenStreetMap cut {a.bbox} of {os.path.basename(a.osm)} ({len(net.nodes)} SUMO junctions, "
            f"{len(net.edges)} edges, {signals} signal programs)")
    kind = "OSM priorities, no signals" if a.no_signals else "OSM signals and priorities"
    return what, {kind: path}, osm, len(requests)


def main():
    a = parse_args()
    d = os.path.abspath(a.out)
    os.makedirs(d, exist_ok=True)
    os.environ.setdefault("SUMO_HOME", "/usr/share/sumo")
    if a.network == "grid":
        what, sumo_nets, network, n_requests = setup_grid(a, d, a.quick)
    else:
        what, sumo_nets, network, n_requests = setup_osm(a, d)

    rows = []
    for kind, net_xml in sumo_nets.items():
        name = "sumo-" + kind.split()[0].lower().replace("-", "")
        rows.append((f"SUMO 1.15, greedy, {kind}", run_sumo(a, d, name, net_xml)))
    settings = [("greedy", "junctions only", "fs-greedy-junctions", JUNCTIONS_ONLY)]
    if not a.quick:
        settings = [
            ("greedy", "traffic defaults (08:00)", "fs-greedy-defaults", "{}"),
            ("greedy", "junctions only", "fs-greedy-junctions", JUNCTIONS_ONLY),
            ("greedy", "free flow", "fs-greedy-free", FREE_FLOW),
            ("batch", "traffic defaults (08:00)", "fs-batch-defaults", "{}"),
            ("batch", "junctions only", "fs-batch-junctions", JUNCTIONS_ONLY),
            ("batch", "free flow", "fs-batch-free", FREE_FLOW),
        ]
    for matcher, label, name, traffic in settings:
        if a.no_signals:
            label += ", no signals"
            if "signal_cycle" not in traffic:
                traffic = "{signal_cycle: 0s}" if traffic == "{}" else traffic[:-1] + ", signal_cycle: 0s}"
        rows.append((f"fleetsim, {matcher}, {label}", run_fleetsim(a, d, name, matcher, traffic, network)))

    print(f"{what}; {a.taxis} taxis, {n_requests} requests in {a.demand_window / 60:g} min, run "
          f"{a.duration / 60:g} min; seed {a.seed}; dispatch every {a.period:g} s; boarding and alighting "
          f"{a.board:g} s\n")
    print(table(rows))
    print()
    print(paired(rows))
    with open(f"{d}/results.json", "w") as f:
        json.dump({label: {k: v for k, v in r.items() if k != "rides"} for label, r in rows}, f, indent=1)


if __name__ == "__main__":
    main()
