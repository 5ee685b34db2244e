"""`python -m nnsam_bench <target> [options]` (what `npm run bench -- <target>` runs).

Targets:
  draws       write the few-shot manifests (sizes x seeds) and print which slices they label
  accuracy    every arm (nnunetv2, nnsam-none, nnsam-mobilesam) x sizes x draws x budget, on ACDC validation
  nnunet      the nnU-Net v2 arm alone (same options as accuracy)
  encoder     SAM encoder seconds per slice: onnxruntime-node vs PyTorch eager vs onnxruntime-python
  inference   segmentation network slices/s: onnxruntime-node vs PyTorch eager on the same exported network
  training    our trainer's loop vs a bare PyTorch loop of the same network (overhead), FLOPs per step, machine
              peak, nnU-Net v2's iterations/s on the same slices; overhead ratios of the arms' accuracy runs
  embedding   per training batch: warping cached SAM embeddings vs embedding augmented patches online;
              the engine's embedding cache cold vs warm, bytes per slice
  e2e         300-slice 512x512 synthetic CT in a private Orthanc: DICOMweb fetch to SEG stored, per stage
  roofline    onnxruntime-node's convolution throughput here against the e2e model's whole-slice run (FLOPs
              counted from its plan): the fraction of the limit inference reaches
  variants    one model's ACDC validation Dice predicted several ways: test-time augmentation, whole slice
              vs sliding window, cropping, int8 (and the precision rule), the engine before issue 16
  loop        issue 13's labelling loop on ACDC: a simulated annotator labels the slices the tool suggests (4
              rounds of 2, warm retrains) against random slices and against cold retrains; Dice on the same
              series and on validation after every round (nnsam_bench/loop.py has the protocol)
  report      regenerate the results part of docs/benchmarks.md and its plots from bench/results/
  summary     print one plain-text table of a results folder (--results, default this machine's)
  all         everything above but loop, then report
--quick runs a small smoke configuration into .cache/bench/quick-results (never into the published results).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

TARGETS = ("draws", "accuracy", "nnunet", "encoder", "inference", "training", "embedding", "e2e", "roofline",
           "variants", "loop", "report", "summary", "all")
ARMS = ("nnunetv2", "nnsam-none", "nnsam-mobilesam")
#: the variants target's predictions (nnsam_bench/variants.py; kept here so --help needs no imports)
VARIANT_NAMES = ("cpu", "tta", "whole", "nocrop", "int8", "legacy")


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="npm run bench --", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", choices=TARGETS)
    p.add_argument("--quick", action="store_true", help="small smoke configuration, results kept out of the docs")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads per process (default: all)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--results", type=Path, help="results folder (default bench/results/<machine>)")
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {','.join(ARMS)}")
    p.add_argument("--sizes", type=ints, default=(4, 8, 12, 16, 20), help="labelled slice counts")
    p.add_argument("--seeds", type=ints, help="draws per size (default 0,1,2; loop: 0)")
    p.add_argument("--budget", type=floats,
                   help="training minutes, same for every arm (default 10; loop: 4, the cold budget)")
    p.add_argument("--long-budget", type=floats, default=(60.0,), help="extra budgets for nnunetv2 only ('' = none)")
    p.add_argument("--snapshots", type=int, default=4, help="models per run for the validation-Dice curve")
    p.add_argument("--iters-per-epoch", type=int, help="nnU-Net iterations per epoch (default 250 on CUDA, 25 on CPU)")
    p.add_argument("--da-workers", type=int, help="nnU-Net augmentation processes (default: nnU-Net's)")
    p.add_argument("--val-cases", type=int, help="evaluate on the first K validation volumes only")
    p.add_argument("--encoder-onnx", help="ONNX MobileSAM encoder (default NNSAM_MOBILESAM_ONNX, else random weights)")
    p.add_argument("--iterations", type=int, default=8,
                   help="training iterations timed per loop (training target; loop --quick: the cold trainings)")
    p.add_argument("--e2e-size", type=int, default=512, help="rows = columns of the e2e series")
    p.add_argument("--e2e-slices", type=int, default=300, help="slices of the e2e series")
    p.add_argument("--e2e-iterations", type=int, default=20, help="training iterations of the e2e model")
    p.add_argument("--e2e-encoder", action="store_true", help="e2e with the MobileSAM encoder (else --encoder none)")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="mirror test-time augmentation in e2e (default: the server's, per device: off on CPU)")
    p.add_argument("--whole-slice", action=argparse.BooleanOptionalAction, default=None,
                   help="e2e: each slice as one network input where it fits (default, the server's) or always "
                        "nnU-Net's sliding window (--no-whole-slice)")
    p.add_argument("--crop", action=argparse.BooleanOptionalAction, default=None,
                   help="e2e: skip what lies outside the body (default, the server's) or not (--no-crop)")
    p.add_argument("--embedding-stride", type=int, default=None,
                   help="e2e with --e2e-encoder: the SAM encoder on every n-th slice (default: the server's rule "
                        "by slice spacing; 1 = every slice)")
    p.add_argument("--overlap-sessions", action=argparse.BooleanOptionalAction, default=None,
                   help="e2e with --e2e-encoder: run the encoder's session while the network's runs (default: the "
                        "server's, in turns on a CPU)")
    p.add_argument("--e2e-compare", choices=("every-slice", "sessions", "fp32", "none"), default="every-slice",
                   help="e2e: one more run on the same model: with --e2e-encoder the encoder on every slice (when "
                        "the default stride is > 1) or the sessions the other way (at once / in turns); fp32: the "
                        "float32 network against the default's int8 one; or none")
    p.add_argument("--precision", choices=("fp32", "int8"), default=None,
                   help="e2e: the network's float32 export or its int8 quantization (default: the server's, int8 on "
                        "a CPU)")
    p.add_argument("--nnunet-minutes", type=float, default=1.0, help="nnU-Net's training budget in the training target")
    p.add_argument("--runs", type=int, default=5, help="timed runs per runtime (speed targets)")
    p.add_argument("--force", action="store_true", help="rerun accuracy runs that already have a result")
    p.add_argument("--train-args", default="", help="extra `nnsam train` flags for the nnsam-none arm (ablations)")
    p.add_argument("--variant", default="", help="name of the ablation given by --train-args (part of the arm name)")
    p.add_argument("--predict-args", default="--tta",
                   help="`nnsam predict` flags of the nnsam arms (default --tta: mirrored, as nnU-Net predicts; "
                        "'--no-tta' with --variant notta measures without)")
    p.add_argument("--rounds", type=int, default=4, help="loop: labelling rounds after the start")
    p.add_argument("--per-round", type=int, default=2, help="loop: slices labelled per round")
    p.add_argument("--warm-fraction", type=float, default=0.5,
                   help="loop: a warm retrain's budget as a fraction of the cold budget")
    p.add_argument("--strategies", default="suggested-warm,random-warm,suggested-cold",
                   help="loop: which strategies to run (a new suggestion rule: suggested-warm alone, paired in the "
                        "report with the start and random-warm of a run under the rule before)")
    p.add_argument("--suggest-distance", type=int, default=None,
                   help="loop: one round's suggestions at least this many slices apart in a volume (default 1: the "
                        "engine's plain ranking)")
    p.add_argument("--model", type=Path, help="variants: the model folder to predict with (default: train nnsam-none "
                                              "for the first --sizes / --seeds / --budget)")
    p.add_argument("--variants", default=",".join(VARIANT_NAMES),
                   help=f"variants: which predictions, of {','.join(VARIANT_NAMES)}")
    args = p.parse_args(argv)
    loop = args.target == "loop"
    args.seeds = args.seeds or ((0,) if loop else (0, 1, 2))
    args.budget = args.budget or ((4.0,) if loop else (10.0,))
    if args.quick:
        args.sizes, args.seeds, args.budget, args.long_budget = (4,), (0,), (1.0,), ()
        args.snapshots, args.val_cases, args.runs = 2, args.val_cases or 2, 2
        args.iters_per_epoch = args.iters_per_epoch or 5
        # loop: --iterations trainings (warm: --warm-fraction of them), one round, one-pass predictions
        args.rounds = 1
        if loop and args.predict_args == "--tta":
            args.predict_args = "--no-tta"
    if args.iters_per_epoch is None and args.device == "cpu":
        args.iters_per_epoch = 25
    unknown = set(args.arms.split(",")) - set(ARMS)
    if unknown:
        p.error(f"unknown arms {sorted(unknown)}; choose from {', '.join(ARMS)}")
    return args


def make_arms(names: list[str], args: argparse.Namespace, log=print) -> list:
    from .arms.nnsam import NnsamArm
    from .arms.nnunet import NnUNetArm

    arms = []
    for name in names:
        if name == "nnunetv2":
            arms.append(NnUNetArm())
        elif name == "nnsam-none":
            arms.append(NnsamArm("none", train_args=tuple(shlex.split(args.train_args)), variant=args.variant,
                                 predict_args=tuple(shlex.split(args.predict_args))))
        else:
            from .encoders import choose_encoder

            try:
                enc = choose_encoder(args.encoder_onnx, args.threads)
            except (OSError, RuntimeError) as e:
                log(f"[bench] nnsam-mobilesam left out: no encoder ({e})")
                continue
            # named apart only when its predictions differ from the default's
            arms.append(NnsamArm(str(enc.onnx), enc.label, predict_args=tuple(shlex.split(args.predict_args)),
                                 variant=args.variant if args.predict_args != "--tta" else ""))
    return arms


def write(results: Path, name: str, data: dict) -> Path:
    path = results / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"[bench] wrote {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    # every PyTorch / OpenMP pool in this process and its children gets --threads (set before torch loads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    from .machine import load_average, machine_label
    from .paths import RESULTS_DIR, work_dir

    command = "npm run bench -- " + " ".join(shlex.quote(a) for a in argv)
    results = args.results or (work_dir("quick-results") if args.quick else RESULTS_DIR / machine_label())
    targets = (["accuracy", "encoder", "inference", "training", "embedding", "e2e", "roofline"] if args.target == "all"
               else [args.target])
    status = 0
    for target in targets:
        load_before = load_average()
        if target == "draws":
            from .fewshot import make_draws

            for (n, seed), path in make_draws(work_dir("draws"), args.sizes, args.seeds).items():
                draw = json.loads((path.parent / "draw.json").read_text())
                picked = ", ".join(f"{d['case']}[k={d['slice']}]" for d in draw["drawn"])
                print(f"n={n:2d} seed={seed}: {picked}")
        elif target in ("accuracy", "nnunet"):
            from .accuracy import AccuracyConfig, run_accuracy

            names = ["nnunetv2"] if target == "nnunet" else args.arms.split(",")
            cfg = AccuracyConfig(sizes=args.sizes, seeds=args.seeds, budgets=args.budget,
                                 long_budgets=args.long_budget, threads=args.threads, snapshots=args.snapshots,
                                 iterations_per_epoch=args.iters_per_epoch, augmentation_workers=args.da_workers,
                                 device=args.device, val_cases=args.val_cases, force=args.force, results_dir=results,
                                 command=command)
            done = run_accuracy(make_arms(names, args), cfg)
            status |= any(r["status"] == "failed" for r in done)
        elif target == "encoder":
            from .speed import encoder_speed

            r = encoder_speed(args.threads, runs=args.runs, encoder_onnx=args.encoder_onnx, device=args.device)
            r["command"] = command
            write(results, "encoder.json", r)
            for name, t in r["runtimes"].items():
                print(f"  {name}: {t['secondsPerSlice']['median']:.3f} s per slice (median of {t['secondsPerSlice']['runs']})")
        elif target == "inference":
            from .speed import inference_speed

            r = inference_speed(args.threads, runs=args.runs, device=args.device, encoder_onnx=args.encoder_onnx)
            r.update(load_average=load_before, load_average_after=load_average())
            r["command"] = command
            write(results, "inference.json", r)
            for net, n in r["networks"].items():
                for name, t in n["runtimes"].items():
                    print(f"  {net} {name}: " + (f"{t['slicesPerSecond']:.2f} slices/s" if "slicesPerSecond" in t
                                                  else f"skipped ({t['skipped'][:80]})"))
            for name, t in r["predict_volume"].items():
                if isinstance(t, dict) and "slicesPerSecond" in t:
                    print(f"  predictVolume {name}: {t['slicesPerSecond']:.2f} slices/s")
        elif target == "training":
            from .speed import training_speed

            r = training_speed(args.threads, results, device=args.device, runs=args.runs, iterations=args.iterations,
                               arms=tuple(args.arms.split(",")), nnunet_minutes=args.nnunet_minutes,
                               da_workers=args.da_workers, iterations_per_epoch=args.iters_per_epoch,
                               encoder_onnx=args.encoder_onnx)
            r.update(load_average=load_before, load_average_after=load_average(), command=command)
            # fewer threads than cores (e.g. 1, where OpenMP threads cannot wait on each other) get their own file
            write(results, "training.json" if args.threads == (os.cpu_count() or 1) else
                  f"training-{args.threads}t.json", r)
            for name, b in r["bare_loop"].items():
                print(f"  bare loop ({name} network): {b['iterations_per_second']:.3f} it/s, "
                      f"{b['flops_per_step'] / 1e9:.1f} GFLOP/step, {100 * b['fraction_of_peak']:.0f} % of peak")
            for name, t in r["trainer"].items():
                print(f"  trainer {name}: {1 / t['step']['median']:.3f} it/s, overhead ratio {t['overhead_ratio']:.2f} "
                      f"(wall), {t['overhead_ratio_cpu']:.2f} (CPU time)")
            n = r["nnunetv2"] or {}
            if "iterations_per_second" in n:
                print(f"  nnU-Net v2: {n['iterations_per_second']:.3f} it/s (batch {n['batch_size']})")
        elif target == "embedding":
            from .embedding import embedding_speed

            r = embedding_speed(args.threads, runs=args.runs, device=args.device, encoder_onnx=args.encoder_onnx)
            r.update(load_average=load_before, load_average_after=load_average(), command=command)
            write(results, "embedding.json", r)
            b = r["per_batch"]
            print(f"  per batch of {b['batch_size']}: warp {b['warp_seconds_per_batch']['median']:.4f} s, online "
                  f"{b['online_seconds_per_batch']['median']:.3f} s ({b['online_over_warp']:.0f}x)")
            c = r.get("cache", {})
            if "cold_seconds_per_slice" in c:
                print(f"  cache: cold {c['cold_seconds_per_slice']['median']:.3f} s/slice, warm "
                      f"{c['warm_seconds_per_slice']['median'] * 1000:.1f} ms/slice, {c['bytes_per_slice'] / 2**20:.2f} "
                      "MiB/slice")
        elif target == "e2e":
            from .speed import e2e_speed, e2e_variant

            encoder = "none"
            if args.e2e_encoder:
                from .encoders import choose_encoder

                encoder = str(choose_encoder(args.encoder_onnx, args.threads).onnx)
            inference = {"tta": args.tta, "whole_slice": args.whole_slice, "crop": args.crop,
                         "precision": args.precision, "embedding_stride": args.embedding_stride,
                         "overlap_sessions": args.overlap_sessions}
            r = e2e_speed(args.threads, runs=args.runs, size=args.e2e_size, slices=args.e2e_slices, encoder=encoder,
                          iterations=args.e2e_iterations, compare=args.e2e_compare, **inference)
            r.update(load_average=load_before, load_average_after=load_average(), command=command)
            # one file per variant: e2e.json is the server's defaults (no encoder), 300 x 512²
            variant = ("-sam" if args.e2e_encoder else "") + e2e_variant(**inference)
            if (args.e2e_size, args.e2e_slices) != (512, 300):
                variant += f"-{args.e2e_slices}x{args.e2e_size}"
            write(results, f"e2e{variant}.json", r)
            stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stagesMedian"].items())
            print(f"  e2e: {r['secondsMedian']:.1f} s ({stages}"
                  + f"), peak RSS {r['peakRssMiB']:.0f} MiB")
        elif target == "roofline":
            from .speed import roofline_speed

            encoder = "none"
            if args.e2e_encoder:
                from .encoders import choose_encoder

                encoder = str(choose_encoder(args.encoder_onnx, args.threads).onnx)
            r = roofline_speed(args.threads, runs=args.runs, size=args.e2e_size, slices=args.e2e_slices,
                               encoder=encoder, iterations=args.e2e_iterations)
            r.update(load_average=load_before, load_average_after=load_average(), command=command)
            write(results, "roofline" + ("-sam" if args.e2e_encoder else "") + ".json", r)
            for name, n in r["network"].items():
                print(f"  network {name}: {n['timing']['median']:.3f} s per {r['input'][0]} x {r['input'][1]} input, "
                      f"{n['gflops']:.1f} GFLOP/s = {100 * n['fractionOfLimit']:.0f} % of {r['limit']['gflops']:.1f}")
        elif target == "variants":
            from .variants import run_variants

            r = run_variants(args.model, args.variants.split(","), args.threads, args.sizes[0], args.seeds[0],
                             args.budget[0], val_cases=args.val_cases)
            r.update(load_average=load_before, load_average_after=load_average(), command=command)
            write(results, f"variants/{r['model']['label']}.json", r)
            for c in r["comparisons"]:
                d = c["diceDelta"].get("mean")
                print(f"  {c['what']}: mean Dice {'–' if d is None else f'{d:+.4f}'}, "
                      f"{100 * c['changedVoxels']:.2f} % of voxels changed"
                      + (f", rule {'met' if c['meetsRule'] else 'NOT met'}" if "meetsRule" in c else ""))
        elif target == "loop":
            from .loop import LoopConfig, run_loop

            for seed in args.seeds:
                r = run_loop(LoopConfig(
                    seed=seed, start_slices=args.sizes[0], budget_minutes=args.budget[0],
                    warm_fraction=args.warm_fraction, rounds=args.rounds, per_round=args.per_round,
                    iterations=args.iterations if args.quick else None, val_cases=args.val_cases, threads=args.threads,
                    predict_args=tuple(shlex.split(args.predict_args)), train_args=tuple(shlex.split(args.train_args)),
                    strategies=tuple(x for x in args.strategies.split(",") if x),
                    **({"suggest_min_distance": args.suggest_distance} if args.suggest_distance is not None else {}),
                    force=args.force, results_dir=results, command=command))
                status |= r["status"] != "ok"
    if args.target == "summary":
        from .report import text_summary

        print(text_summary(results))
    if args.target in ("report", "all") and not args.quick:
        from .report import write_report

        print(f"[bench] updated {write_report()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
