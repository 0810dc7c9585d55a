#!/usr/bin/env python3
"""Checks of dustd's Prometheus text against its documentation (tests/integration/metrics_test.sh).

  metrics_check.py doc [--all] METRICS_FILE OPERATIONS_MD SOURCE_FILE...
      Parses the exposition (every line: HELP and TYPE once per family and before its samples, a
      family's samples in one group, counters ending in _total, label values unescaped as the
      format says) and the table under "## Metrics" in docs/operations.md; fails when a family
      of the output is not in the table, or its type or label names differ from the table's,
      or a table row names a family no source file mentions (a documented family that can no
      longer appear); with --all, also when a row's family is not in the output. Prints the
      families and their label sets.
  metrics_check.py labels METRICS_FILE FAMILY
      Prints the label sets of FAMILY's samples, one JSON object a line (for the shell test).
  metrics_check.py grafana DASHBOARD_JSON OPERATIONS_MD
      The dashboard is valid JSON with panels, and every metric name in every panel's
      expressions is a family of the table.
"""
import json
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'


def fail(msg):
    print('FAIL: ' + msg, file=sys.stderr)
    sys.exit(1)


def parse_labels(text, where):
    """'a="x",b="y\\"z"' -> {'a': 'x', 'b': 'y"z'}, unescaping \\\\, \\" and \\n."""
    labels, i = {}, 0
    while i < len(text):
        m = re.match(r'(%s)="' % LABEL, text[i:])
        if not m:
            fail('%s: bad label at %r' % (where, text[i:]))
        name, i, value = m.group(1), i + m.end(), []
        while True:
            if i >= len(text):
                fail('%s: unterminated label value' % where)
            c = text[i]
            if c == '\\':
                nxt = text[i + 1:i + 2]
                if nxt not in ('\\', '"', 'n'):
                    fail('%s: bad escape \\%s in a label value' % (where, nxt))
                value.append('\n' if nxt == 'n' else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == '\n':
                fail('%s: raw line feed in a label value' % where)
            else:
                value.append(c)
                i += 1
        if name in labels:
            fail('%s: label %s twice' % (where, name))
        labels[name] = ''.join(value)
        if i < len(text):
            if text[i] != ',':
                fail('%s: expected , after label %s' % (where, name))
            i += 1
    return labels


def parse_exposition(path):
    """{family: {'type', 'help', 'samples': [(labels, value)]}} in output order; checks the
    structure the text format requires."""
    families, current, seen_series = {}, None, set()
    for n, line in enumerate(open(path, encoding='utf-8').read().split('\n'), 1):
        where = '%s:%d' % (path, n)
        if line == '':
            continue
        m = re.fullmatch(r'# (HELP|TYPE) (%s) (.*)' % NAME, line)
        if m:
            kind, name, rest = m.groups()
            f = families.setdefault(name, {'type': None, 'help': None, 'samples': []})
            if f['samples'] or (kind == 'HELP' and f['help'] is not None) or (
                    kind == 'TYPE' and f['type'] is not None):
                fail('%s: second %s for %s (families must not repeat)' % (where, kind, name))
            if kind == 'TYPE':
                if rest not in ('counter', 'gauge'):
                    fail('%s: type %s (dustd writes counters and gauges)' % (where, rest))
                f['type'] = rest
            else:
                f['help'] = rest
            current = name
            continue
        if line.startswith('#'):
            fail('%s: unexpected comment %r' % (where, line))
        m = re.fullmatch(r'(%s)(?:\{(.*)\})? (\S+)' % NAME, line)
        if not m:
            fail('%s: not a sample line: %r' % (where, line))
        name, labels, value = m.group(1), parse_labels(m.group(2) or '', where), m.group(3)
        if name != current:
            fail('%s: sample of %s outside its family\'s group' % (where, name))
        f = families[name]
        if not f['help'] or not f['type']:
            fail('%s: %s has no HELP or no TYPE before its samples' % (where, name))
        try:
            v = float(value)
        except ValueError:
            fail('%s: value %r is not a number' % (where, value))
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            fail('%s: series %s%s twice' % (where, name, labels))
        seen_series.add(key)
        f['samples'].append((labels, v))
    for name, f in families.items():
        if not f['samples']:
            fail('%s: family %s has no samples' % (path, name))
        if (f['type'] == 'counter') != name.endswith('_total'):
            fail('%s: %s is a %s: counters, and only they, end in _total' % (path, name, f['type']))
    return families


def parse_doc(path):
    """The table under '## Metrics': {name: (type, frozenset(label names))}."""
    text = open(path, encoding='utf-8').read()
    m = re.search(r'^## Metrics\n(.*?)(?=^## )', text, re.S | re.M)
    if not m:
        fail('%s: no "## Metrics" section' % path)
    doc = {}
    for row in re.findall(r'^\| `(%s)` \|(.*)$' % NAME, m.group(1), re.M):
        name, cells = row[0], [c.strip() for c in row[1].split('|')]
        if len(cells) < 3:
            fail('%s: row of %s has too few cells' % (path, name))
        if name in doc:
            fail('%s: %s documented twice' % (path, name))
        doc[name] = (cells[0], frozenset(re.findall(r'`(%s)`' % LABEL, cells[1])))
    if not doc:
        fail('%s: no metric rows under "## Metrics"' % path)
    return doc


def cmd_doc(metrics, md, sources, require_all):
    families, doc = parse_exposition(metrics), parse_doc(md)
    bad = []
    for name, f in families.items():
        labels = frozenset().union(*(frozenset(l) for l, _ in f['samples']))
        print('  %-40s %-7s %s' % (name, f['type'], ','.join(sorted(labels)) or '-'))
        if name not in doc:
            bad.append('%s (%s) is in the output but not in %s' % (name, f['type'], md))
            continue
        if doc[name][0] != f['type']:
            bad.append('%s: %s in the output, %s in the doc' % (name, f['type'], doc[name][0]))
        if doc[name][1] != labels:
            bad.append('%s: labels %s in the output, %s in the doc' %
                       (name, sorted(labels), sorted(doc[name][1])))
    code = ''.join(open(s, encoding='utf-8').read() for s in sources)
    for name in doc:
        if '"%s"' % name not in code:
            bad.append('%s is documented but no source file names it' % name)
    absent = sorted(set(doc) - set(families))
    if require_all and absent:
        bad.append('documented but not in the output: %s' % ', '.join(absent))
    for b in bad:
        print('FAIL: ' + b, file=sys.stderr)
    if bad:
        sys.exit(1)
    print('ok: %d families in the output, all documented with their type and labels; %d in the '
          'doc, all named in the source%s' % (len(families), len(doc),
                                              ' (not in this output: %s)' % ', '.join(absent)
                                              if absent else ''))


# PromQL words that are not metric names.
PROMQL_WORDS = {'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset',
                'and', 'or', 'unless', 'inf', 'nan', 'Inf', 'NaN'}


def metric_names(expr):
    """The metric names an expression selects: identifiers that are not functions, aggregation
    operators, keywords, label names or values, durations or Grafana variables."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    e = re.sub(r'\{[^}]*\}', ' ', e)  # label matchers
    e = re.sub(r'\[[^\]]*\]', ' ', e)  # range and subquery durations
    e = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', e)
    e = re.sub(r'\$\{?\w+\}?', ' ', e)  # Grafana variables ($__rate_interval, ${node})
    names = []
    for m in re.finditer(NAME, e):
        word, after = m.group(0), e[m.end():].lstrip()
        if after.startswith('(') or word in PROMQL_WORDS:
            continue
        if m.start() > 0 and (e[m.start() - 1].isdigit() or e[m.start() - 1] == '.'):
            continue  # 1e3, 5m
        names.append(word)
    return names


def exprs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == 'expr' and isinstance(v, str):
                yield v
            else:
                yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)


def cmd_grafana(dashboard, md):
    try:
        d = json.load(open(dashboard, encoding='utf-8'))
    except ValueError as e:
        fail('%s is not valid JSON: %s' % (dashboard, e))
    doc = parse_doc(md)
    panels = d.get('panels') or []
    if not panels:
        fail('%s has no panels' % dashboard)
    bad, used, count = [], set(), 0
    for p in panels:
        title = p.get('title', '?')
        targets = list(exprs(p))
        if p.get('type') != 'row' and not targets:
            bad.append('panel %r has no query' % title)
        for expr in targets:
            count += 1
            names = metric_names(expr)
            if not names:
                bad.append('panel %r: no metric name found in %r' % (title, expr))
            for n in names:
                used.add(n)
                if n not in doc:
                    bad.append('panel %r: %s is not a documented family (%r)' % (title, n, expr))
    # Template variables: label_values(METRIC, label) queries.
    for v in (d.get('templating') or {}).get('list') or []:
        q = v.get('query')
        q = q.get('query') if isinstance(q, dict) else q
        if v.get('type') != 'query' or not isinstance(q, str):
            continue
        m = re.fullmatch(r'label_values\((%s),\s*%s\)' % (NAME, LABEL), q.strip())
        if not m:
            bad.append('variable %s: query %r is not label_values(METRIC, label)' % (v.get('name'), q))
        elif m.group(1) not in doc:
            bad.append('variable %s: %s is not a documented family' % (v.get('name'), m.group(1)))
    for b in bad:
        print('FAIL: ' + b, file=sys.stderr)
    if bad:
        sys.exit(1)
    print('ok: %s: %d panels, %d expressions, %d metric names, all documented' %
          (dashboard, len(panels), count, len(used)))


def main(argv):
    if len(argv) >= 5 and argv[1:3] == ['doc', '--all']:
        cmd_doc(argv[3], argv[4], argv[5:], True)
    elif len(argv) >= 4 and argv[1] == 'doc':
        cmd_doc(argv[2], argv[3], argv[4:], False)
    elif len(argv) == 4 and argv[1] == 'labels':
        f = parse_exposition(argv[2]).get(argv[3])
        for labels, _ in (f['samples'] if f else []):
            print(json.dumps(labels, ensure_ascii=False, sort_keys=True))
    elif len(argv) == 4 and argv[1] == 'grafana':
        cmd_grafana(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main(sys.argv)
