#!/usr/bin/env python3
"""Writes the hub target's seed corpus (Tests/Fuzz/corpus/hub): client WebSocket frames
(masked) as a client sends them after the upgrade. The first byte of each input picks where
the fuzz target splits it into two reads. Most seeds use the all-zero mask key, so the
payload is plain text the fuzzer (and its dictionary) can mutate; one uses a real key."""
import os, struct

def frame(payload, opcode=1, fin=True, key=b'\x00\x00\x00\x00'):
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack('>H', n)
    else:
        head += bytes([0x80 | 127]) + struct.pack('>Q', n)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

connect = frame('40')
seeds = {
    'connect-join-send': connect + frame('42["join",{"channel":"room"}]')
        + frame('42["message",{"channel":"room","eventName":"chat","message":{"text":"hi"},"echo":true}]'),
    'update-members-leave': connect + frame('42["update",{"data":{"name":"bot"},"echo":true}]')
        + frame('427["members",{"channel":"room"}]') + frame('42["leave",{"channel":"room"}]') + frame('41'),
    'binary-event': connect + frame('451-["message",{"eventName":"b","message":{"_placeholder":true,"num":0}}]')
        + frame(b'\x00\x01\x02', opcode=2),
    'fragmented': connect + frame('42["mess', fin=False) + frame('age",{"eventName":"e","message":1}]', opcode=0),
    'control': connect + frame(b'ping', opcode=9) + frame('3') + frame('2probe') + frame('6') + frame(b'\x03\xe8', opcode=8),
    'auth-and-namespace': frame('40{"clientKey":"k","echoMessages":false}') + frame('40/admin,') + frame('42/admin,["message",{}]'),
    'masked': frame('40', key=b'\x12\x34\x56\x78') + frame('42["join",{"channel":"r"}]', key=b'\xa5\x00\xff\x5a'),
    'large': connect + frame('42["message",{"eventName":"e","message":"' + 'x' * 300 + '"}]'),
    'bad': frame('4') + frame('49') + frame(b'\xff\xfe', opcode=1) + frame('0') + frame('5') + connect + frame('42[') + frame('1'),
}
out = os.path.join(os.path.dirname(__file__), 'corpus', 'hub')
os.makedirs(out, exist_ok=True)
for i, (name, data) in enumerate(seeds.items()):
    with open(os.path.join(out, 'seed-' + name), 'wb') as f:
        f.write(bytes([(i * 37) % 256]) + data)
