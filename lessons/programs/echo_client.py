# The client of the echo server: it connects, sends one command and prints
# the answer. Usage: python3 echo_client.py PORT [MESSAGE]
import socket
import sys

HOST = "127.0.0.1"
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
MESSAGE = sys.argv[2] if len(sys.argv) > 2 else "LED ON"

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.connect((HOST, PORT))
    s.sendall(MESSAGE.encode() + b"\n")
    data = s.recv(1024)

print(f"received {data!r}", flush=True)
