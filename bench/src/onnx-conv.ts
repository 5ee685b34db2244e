/**
 * One 2D convolution as an ONNX model, written directly in protobuf (no Python, no ONNX library): input `x`
 * [N, cin, H, W] (dynamic N, H, W), seeded weights and bias, 'same' zero padding, stride 1, output `y`. What the
 * roofline benchmark times: the same operator the segmentation network spends its time in.
 */

/** Protobuf writer for the few wire types ONNX needs: varints and length-delimited fields. */
class Proto {
  private readonly parts: number[] = [];

  private varint(v: number): void {
    let n = BigInt(v);
    do {
      let byte = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (n > 0n);
  }

  int(field: number, v: number): this {
    this.varint((field << 3) | 0);
    this.varint(v);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    for (const b of data) this.parts.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Proto): this {
    return this.bytes(field, m.done());
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const FLOAT = 1; // TensorProto.DataType
const INTS = 7; // AttributeProto.AttributeType

function ints(name: string, values: number[]): Proto {
  const a = new Proto().string(1, name).int(20, INTS);
  for (const v of values) a.int(8, v);
  return a;
}

function initializer(name: string, dims: number[], values: Float32Array): Proto {
  const t = new Proto();
  for (const d of dims) t.int(1, d);
  return t
    .int(2, FLOAT)
    .string(8, name)
    .bytes(9, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** ValueInfoProto of a float tensor; string dims are symbolic. */
function valueInfo(name: string, dims: (number | string)[]): Proto {
  const shape = new Proto();
  for (const d of dims)
    shape.message(1, typeof d === 'number' ? new Proto().int(1, d) : new Proto().string(2, d));
  const tensor = new Proto().int(1, FLOAT).message(2, shape);
  return new Proto().string(1, name).message(2, new Proto().message(1, tensor));
}

export interface ConvSpec {
  cin: number;
  cout: number;
  kernel: number;
  seed?: number;
}

/** The convolution's weights [cout, cin, k, k] and bias [cout]: seeded, He-scaled. */
export function convWeights(spec: ConvSpec): { weight: Float32Array; bias: Float32Array } {
  let s = (spec.seed ?? 1) >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const fanIn = spec.cin * spec.kernel * spec.kernel;
  const weight = Float32Array.from({ length: spec.cout * fanIn }, () => rand() * Math.sqrt(12 / fanIn));
  const bias = Float32Array.from({ length: spec.cout }, () => rand() * 0.1);
  return { weight, bias };
}

/** The ONNX file's bytes (opset 17), ready for InferenceSession.create. */
export function convModel(spec: ConvSpec): Uint8Array {
  const { cin, cout, kernel: k } = spec;
  const { weight, bias } = convWeights(spec);
  const pad = Math.floor(k / 2);
  const node = new Proto()
    .string(1, 'x')
    .string(1, 'w')
    .string(1, 'b')
    .string(2, 'y')
    .string(3, 'conv')
    .string(4, 'Conv')
    .message(5, ints('kernel_shape', [k, k]))
    .message(5, ints('pads', [pad, pad, pad, pad]));
  const graph = new Proto()
    .message(1, node)
    .string(2, 'conv')
    .message(5, initializer('w', [cout, cin, k, k], weight))
    .message(5, initializer('b', [cout], bias))
    .message(11, valueInfo('x', ['n', cin, 'h', 'w']))
    .message(12, valueInfo('y', ['n', cout, 'h', 'w']));
  return new Proto()
    .int(1, 8) // IR version 8 (opset 17's)
    .string(2, 'nnsam-bench')
    .message(7, graph)
    .message(8, new Proto().string(1, '').int(2, 17))
    .done();
}
