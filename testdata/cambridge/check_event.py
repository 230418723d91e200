# Independent re-implementation (Python) of the issue #4 CBL for cross-checking the CLI.
import gzip, csv, json, os
from datetime import datetime, timedelta, date
from zoneinfo import ZoneInfo
def run(path, ev_day, sh, eh, x, y, adj, excl=(), hol=(), cap=0.2, win=3, gap=1, lookback=45, tz="Europe/London"):
    z = ZoneInfo(tz)
    u = {}
    with gzip.open(path, 'rt') as f:
        for r in csv.DictReader(f):
            u[datetime.fromisoformat(r['start'].replace('Z','+00:00'))] = float(r['value'])
    def val(d, h):
        t = datetime(d.year, d.month, d.day, h, tzinfo=z)
        return u.get(t.astimezone(ZoneInfo('UTC')))
    D = date.fromisoformat(ev_day)
    wk = lambda d: d.weekday() < 5 and d.isoformat() not in hol
    ev_hours = list(range(sh, eh)); adj_hours = list(range(sh-gap-win, sh-gap)) if adj != 'none' else []
    cands = []
    for k in range(1, lookback+1):
        if len(cands) == y: break
        d = D - timedelta(days=k)
        if wk(d) != wk(D) or d.isoformat() in excl: continue
        vs = [val(d, h) for h in ev_hours + adj_hours]
        if any(v is None for v in vs): continue
        cands.append((d, vs))
    order = sorted(range(len(cands)), key=lambda i: (-sum(cands[i][1][:len(ev_hours)]), i))[:x]
    kept = [cands[i] for i in sorted(order)]
    base = [sum(c[1][j] for c in kept)/x for j in range(len(ev_hours)+len(adj_hours))]
    ub, ab = base[:len(ev_hours)], base[len(ev_hours):]
    act = [val(D, h) for h in ev_hours]; aw = [val(D, h) for h in adj_hours]
    f = None
    if adj == 'multiplicative':
        f = min(max(sum(aw)/sum(ab), 1-cap), 1+cap); b = [f*v for v in ub]
    elif adj == 'additive':
        off = sum(a-b for a, b in zip(aw, ab))/len(aw); b = [min(max(v+off, (1-cap)*v), (1+cap)*v) for v in ub]
    else: b = ub
    return {"selected_days": [c[0].isoformat() for c in kept], "adjustment_factor": f,
            "baseline": b, "actual": act, "baseline_total": sum(b), "actual_total": sum(act), "savings_total": sum(b)-sum(act)}
p = os.path.dirname(os.path.abspath(__file__)) + '/'
print(json.dumps(run(p+'b22_electricity_2019-05_2019-11.csv.gz', '2019-07-24', 15, 19, 5, 10, 'multiplicative', excl=('2019-07-23','2019-07-22'))))
print(json.dumps(run(p+'b22_electricity_2019-05_2019-11.csv.gz', '2019-07-24', 15, 19, 5, 10, 'additive')))
print(json.dumps(run(p+'b27_electricity_2019-05_2019-11.csv.gz', '2019-08-27', 14, 18, 10, 10, 'none', hol=('2019-08-26',))))
print(json.dumps(run(p+'b27_electricity_2019-05_2019-11.csv.gz', '2019-08-26', 14, 18, 4, 4, 'multiplicative', hol=('2019-08-26','2019-05-27'))))
# Across the 2019-10-27 fall-back: baseline days in BST, event days in GMT.
print(json.dumps(run(p+'b22_electricity_2019-05_2019-11.csv.gz', '2019-10-28', 16, 20, 5, 10, 'multiplicative', excl=('2019-10-04',))))
print(json.dumps(run(p+'b27_electricity_2019-05_2019-11.csv.gz', '2019-10-27', 14, 18, 4, 4, 'additive')))
