// An independent Modbus TCP server for the interop tests: jsmodbus 5.0.0 (npm) on 127.0.0.1.
// Usage: node jsmodbus-peer.js <port> <values.json>
// values.json: { registers: [{ table: "holding"|"input", address, type, wordOrder, byteOrder, value }],
//                bits: [{ table: "coils"|"discrete", address, value }] }
// Values are encoded with Node's own Buffer writers (big-endian writers for high-byte-first layouts, little-endian
// ones for low-byte-first), so the test checks our decoder against code that shares nothing with it.
// Prints "listening <port>" when ready, and "write <table> <address> <count> <values>" after every client write,
// read back from the server's own buffers.
'use strict';
const fs = require('fs');
const net = require('net');
const Modbus = require('jsmodbus');

const port = Number(process.argv[2]);
const values = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));

const size = 65536 * 2;
const tables = {
  holding: Buffer.alloc(size),
  input: Buffer.alloc(size),
  coils: Buffer.alloc(65536 / 8),
  discrete: Buffer.alloc(65536 / 8),
};

const widths = { Bool: 2, Int16: 2, UInt16: 2, Int32: 4, UInt32: 4, Float32: 4, Int64: 8, UInt64: 8, Float64: 8 };

function write(type, value, littleEndian) {
  const b = Buffer.alloc(widths[type]);
  const e = littleEndian ? 'LE' : 'BE';
  switch (type) {
    case 'Bool': b['writeUInt16' + e](value ? 1 : 0); break;
    case 'Int16': b['writeInt16' + e](value); break;
    case 'UInt16': b['writeUInt16' + e](value); break;
    case 'Int32': b['writeInt32' + e](value); break;
    case 'UInt32': b['writeUInt32' + e](value); break;
    case 'Float32': b['writeFloat' + e](value); break;
    case 'Int64': b['writeBigInt64' + e](BigInt(value)); break;
    case 'UInt64': b['writeBigUInt64' + e](BigInt(value)); break;
    case 'Float64': b['writeDouble' + e](value); break;
    default: throw new Error('unknown type ' + type);
  }
  return b;
}

function reverseWords(b) {
  const out = Buffer.alloc(b.length);
  for (let i = 0; i < b.length; i += 2) {
    b.copy(out, b.length - 2 - i, i, i + 2);
  }
  return out;
}

// Byte order low-first is the little-endian encoding with the words put back in high-first order, and so on.
function encode(type, wordOrder, byteOrder, value) {
  const littleEndian = byteOrder === 'LowFirst';
  const b = write(type, value, littleEndian);
  const wordsReversed = littleEndian ? wordOrder === 'HighFirst' : wordOrder === 'LowFirst';
  return wordsReversed ? reverseWords(b) : b;
}

for (const r of values.registers) {
  encode(r.type, r.wordOrder, r.byteOrder, r.value).copy(tables[r.table], r.address * 2);
}

function setBit(buffer, address, on) {
  const mask = 1 << (address % 8);
  buffer[Math.floor(address / 8)] = on ? buffer[Math.floor(address / 8)] | mask : buffer[Math.floor(address / 8)] & ~mask;
}

function getBit(buffer, address) {
  return (buffer[Math.floor(address / 8)] >> (address % 8)) & 1;
}

for (const b of values.bits) {
  setBit(tables[b.table], b.address, b.value);
}

const netServer = new net.Server();
const server = new Modbus.server.TCP(netServer, tables);

function reportRegisters(address, count) {
  const words = [];
  for (let i = 0; i < count; i++) {
    words.push(server.holding.readUInt16BE((address + i) * 2).toString(16).padStart(4, '0'));
  }
  console.log(`write holding ${address} ${count} ${words.join(' ')}`);
}

function reportCoils(address, count) {
  let bits = '';
  for (let i = 0; i < count; i++) {
    bits += getBit(server.coils, address + i);
  }
  console.log(`write coils ${address} ${count} ${bits}`);
}

// The multiple-write events fire twice in jsmodbus 5: once with the buffer, once with the request.
server.on('postWriteSingleRegister', (request) => reportRegisters(request.body.address, 1));
server.on('postWriteMultipleRegisters', (request) => {
  if (request && request.body) reportRegisters(request.body.address, request.body.quantity);
});
server.on('postWriteSingleCoil', (request) => reportCoils(request.body.address, 1));
server.on('postWriteMultipleCoils', (request) => {
  if (request && request.body) reportCoils(request.body.address, request.body.quantity);
});

netServer.on('error', (err) => {
  console.error('server error: ' + err.message);
  process.exit(1);
});
netServer.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
process.on('SIGTERM', () => process.exit(0));
