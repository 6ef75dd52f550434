# An echo server, written the way tutorials write it: the server of a tiny
# remote-control system, where a client connects and sends commands.
# Usage: python3 echo_server.py PORT
import socket
import sys

HOST = "127.0.0.1"
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9000

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, PORT))
    s.listen(5)
    print(f"listening on {HOST}:{PORT}", flush=True)
    conn, addr = s.accept()
    with conn:
        print(f"connected by {addr}", flush=True)
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)
    print("client gone, bye", flush=True)
