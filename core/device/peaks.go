package device

import "github.com/dlcompat/dlcompat/core/pluginapi"

// archRate is one architecture's dense matrix-multiply rate per SM per
// clock, in FLOPs (2 per fused multiply-add), for each precision mode it
// has, and its FP32 cores per SM. These are the rates the GEMMs of the
// characterise check (docs/spec.md §10) can reach: fp64 on the FP64 tensor
// cores where the architecture has them (sm_80, sm_90), fp32 on the CUDA
// cores (strict, TF32 off), tf32, bf16 and fp16 on the tensor cores with
// float32 accumulation.
type archRate struct {
	coresPerSM int
	flops      map[string]int
}

// archRates is the one table of per-architecture rates, by CUDA compute
// capability, for the datacenter part of each architecture. Sources:
// NVIDIA's architecture whitepapers — "NVIDIA Tesla V100 GPU Architecture"
// (2017; sm_70), "NVIDIA Turing GPU Architecture" (2018, the T4; sm_75),
// "NVIDIA A100 Tensor Core GPU Architecture" (2020; sm_80), "NVIDIA Ampere
// GA102 GPU Architecture" (2021, the A40 and A10; sm_86), "NVIDIA Ada GPU
// Architecture" (2023, the L40S; sm_89) and "NVIDIA H100 Tensor Core GPU
// Architecture" (2022; sm_90, which the H200 shares) — each rate being the
// whitepaper's dense peak divided by its SM count and boost clock, e.g.
// A100: 312 TFLOP/s bf16 / (108 SMs × 1.41 GHz) = 2048. GeForce parts of
// sm_86 and sm_89 run fp16 and bf16 with float32 accumulation at half
// these rates; Hopper's whitepaper quotes its tensor peaks at 1830 MHz,
// below the 1980 MHz that NVML reports as its maximum SM clock, so the
// figure here is the upper bound at that clock (docs/spec.md §10.3). A
// capability not in the table gets no per-precision peak: nothing is
// claimed that cannot be known.
var archRates = map[string]archRate{
	"7.0": {64, map[string]int{pluginapi.PrecisionFP64: 64, pluginapi.PrecisionFP32: 128, pluginapi.PrecisionFP16: 1024}},
	"7.5": {64, map[string]int{pluginapi.PrecisionFP64: 4, pluginapi.PrecisionFP32: 128, pluginapi.PrecisionFP16: 1024}},
	"8.0": {64, map[string]int{pluginapi.PrecisionFP64: 128, pluginapi.PrecisionFP32: 128, pluginapi.PrecisionTF32: 1024,
		pluginapi.PrecisionBF16: 2048, pluginapi.PrecisionFP16: 2048}},
	"8.6": {128, map[string]int{pluginapi.PrecisionFP64: 4, pluginapi.PrecisionFP32: 256, pluginapi.PrecisionTF32: 256,
		pluginapi.PrecisionBF16: 1024, pluginapi.PrecisionFP16: 1024}},
	"8.9": {128, map[string]int{pluginapi.PrecisionFP64: 4, pluginapi.PrecisionFP32: 256, pluginapi.PrecisionTF32: 512,
		pluginapi.PrecisionBF16: 1024, pluginapi.PrecisionFP16: 1024}},
	"9.0": {128, map[string]int{pluginapi.PrecisionFP64: 256, pluginapi.PrecisionFP32: 256, pluginapi.PrecisionTF32: 2048,
		pluginapi.PrecisionBF16: 4096, pluginapi.PrecisionFP16: 4096}},
}

// smCount is the GPU's SM count: its CUDA cores (NVML GetNumGpuCores)
// over the architecture's FP32 cores per SM (an H200: 16896 / 128 = 132);
// 0 when either is unknown.
func smCount(cudaCores int, cc string) int {
	if a, ok := archRates[cc]; ok && cudaCores > 0 && cudaCores%a.coresPerSM == 0 {
		return cudaCores / a.coresPerSM
	}
	return 0
}

// peaksByPrecision is SMs × the architecture's rate × the maximum SM
// clock per mode, in GFLOP/s; nil when any input is unknown.
func peaksByPrecision(sms int, cc string, maxSMClockMHz uint32) map[string]float64 {
	a, ok := archRates[cc]
	if !ok || sms == 0 || maxSMClockMHz == 0 {
		return nil
	}
	out := make(map[string]float64, len(a.flops))
	for mode, f := range a.flops {
		out[mode] = float64(sms) * float64(f) * float64(maxSMClockMHz) / 1000
	}
	return out
}
