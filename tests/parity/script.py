from socket import *
s = socket(AF_INET, 99)
s = socket(99, SOCK_STREAM)
s = socket(AF_INET, SOCK_STREAM, 17)
s = socket(AF_INET, SOCK_DGRAM, 6)
s = socket(AF_INET, 5)
s = socket(AF_INET6, 99)
srv = socket(AF_INET, SOCK_STREAM, -1)
srv.getsockname()
srv.getpeername()
srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
srv.getsockopt(SOL_SOCKET, SO_REUSEADDR) == 1
srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 'x')
srv.bind(('127.0.0.1', 0))
srv.bind(('127.0.0.1', 0))
srv.getsockname()[0]
srv.recv(10)
srv.send(b'x')
srv.listen(5)
port = srv.getsockname()[1]
cli = socket()
cli.getpeername()
cli.shutdown(SHUT_RD)
cli.connect(('127.0.0.1', port))
cli.connect(('127.0.0.1', port))
srv.connect(('127.0.0.1', port))
conn, addr = srv.accept()
conn.getpeername() == cli.getsockname()
cli.getpeername() == conn.getsockname()
addr == cli.getsockname()
cli.sendall(b'hello world')
data = conn.recv(5)
data == b'hello'
data + conn.recv(100)
cli.shutdown(7)
cli.send('text')
cli.sendall(b'x', 'y')
cli.sendto(b'x', ('127.0.0.1', port))
cli.shutdown(SHUT_WR)
conn.recv(10) == b''
conn.recv(10)
cli.send(b'more')
b'abc'.upper(), 'Ab'.lower()
'a,b'.split(',')  # socklab: LabError (documented)
'hé'.encode()
b'\xff'.decode()
len(b'abc') * 2
a, b = 1
a, b = (1, 2, 3)
x, y = b'hi'
1 < 'a'
b'h' in data, 104 in data, 'a' not in 'abc'
None is None, not data, data and 0, 0 or data
1 < 2 < 3, 3 > 2 > 2, (1, 2) < (1, 3), [1] == [1.0]
10 // 3, -7 % 3, 7 / 2
int('12') + 1
int('x')
data[10]
data[1:3], data[-1]
str(b'x')
'%d' % 1  # socklab: LabError (documented)
u = socket(AF_INET, SOCK_DGRAM)
u.listen()
u.accept()
u.setblocking(False)
u.recv(10)
u.setblocking(True)
u.bind(('127.0.0.1', 0))
u.sendto(b'dgram', u.getsockname())
u.recvfrom(100)[0]
u.sendto('x', u.getsockname())
u.connect(('127.0.0.1', 0))
u.getpeername()
conn.close()
conn.fileno()
conn.getsockname()
conn.recv(1)
