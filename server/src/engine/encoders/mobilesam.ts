/**
 * PLACEHOLDER, replaced at merge by the encoder helper's implementation (TinyViT/MobileSAM in PyTorch,
 * checkpoint loading, ONNX export). Contract: resolve the path of an ONNX image encoder built from the
 * user's configured MobileSAM weights ([1,3,1024,1024] `image` -> [1,256,64,64] `embedding`), or throw
 * NnsamError('encoder_unavailable') when no weights are configured.
 */
import { NnsamError } from '../../util/errors.js';

export async function resolveMobileSamOnnx(_options: {
  cacheDir: string;
  onProgress?: (msg: string) => void;
}): Promise<string> {
  throw new NnsamError('encoder_unavailable', 'MobileSAM weights are not configured', {
    status: 503,
    hint: 'Set NNSAM_MOBILESAM_CHECKPOINT to the mobile_sam.pt checkpoint, or train with --encoder none or --encoder FILE.onnx.',
  });
}
