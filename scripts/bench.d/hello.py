# Start-up peer of hello.lua: what a python-socketio bot pays before its first line.
import socketio

socketio.AsyncClient()
print("hello")
