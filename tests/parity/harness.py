# Runs a socklab script line by line under CPython, as its REPL would, and
# prints one result per line: "N ok REPR" (the echo socklab prints) or
# "N err EXCEPTION ERRNO".
import ast
import sys

g = {}
for n, line in enumerate(open(sys.argv[1]).read().splitlines(), 1):
    try:
        st = ast.parse(line).body
        if not st:
            out = 'ok '
        elif isinstance(st[0], ast.Expr):
            v = eval(line, g)
            out = 'ok ' + ('' if v is None else repr(v))
        else:
            exec(line, g)
            names = []
            if isinstance(st[0], ast.Assign):
                for t in st[0].targets:
                    names += [x.id for x in ast.walk(t) if isinstance(x, ast.Name)]
            out = 'ok ' + ', '.join(f'{k} = {g[k]!r}' for k in names)
    except Exception as e:
        out = f'err {type(e).__name__} {getattr(e, "errno", None)}'
    print(n, out)
