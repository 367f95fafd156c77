package device

import "github.com/dlcompat/dlcompat/matrix"

// Matrix converts the device to the result model's type.
func (d Device) Matrix() matrix.Device {
	return matrix.Device{
		ID: d.ID, Kind: string(d.Kind), Name: d.Name, Brand: d.Brand, Architecture: d.Architecture,
		UUID: d.UUID, PCIBusID: d.PCIBusID, MemoryTotalBytes: d.MemoryTotalBytes,
		MemoryBusWidthBits: d.MemoryBusWidthBits, MaxSMClockMHz: d.MaxSMClockMHz, MaxMemClockMHz: d.MaxMemClockMHz,
		TheoreticalBandwidthGBs: d.TheoreticalBandwidthGBs, ComputeCapability: d.ComputeCapability,
		MIGMode: d.MIGMode, ECC: d.ECC, PowerLimitW: d.PowerLimitW, DriverVersion: d.DriverVersion,
		CUDADriverVersion: d.CUDADriverVersion, Cores: d.Cores, CUDACores: d.CUDACores, PeakFP32GFLOPs: d.PeakFP32GFLOPs, Notes: d.Notes,
	}
}
