// A decoder for bench_loadgen's 8-byte payloads (device, sequence, check), written for the
// end-to-end benchmark with a JavaScript codec on the route.
function decodeUplink(input) {
  const b = input.bytes;
  const dev = (b[0] << 8) | b[1];
  const seq = ((b[2] << 24) >>> 0) + ((b[3] << 16) | (b[4] << 8) | b[5]);
  const ok = ((0xa5 ^ b[1] ^ b[5]) & 0xff) === b[6];
  return ok ? { data: { dev, seq } } : { errors: [`bad check byte ${b[6]}`] };
}
