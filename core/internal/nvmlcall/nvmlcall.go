// Package nvmlcall is how dlcompat calls NVML: every call guarded
// against go-nvml's mocks, which panic on what they do not implement, and
// return codes named without calling into the library.
package nvmlcall

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Guard runs fn and turns a panic into an error.
//
// This is the one place dlcompat recovers, and only for calls through
// nvml.Interface: go-nvml's mocks (mock.Interface, mock.Device and the
// dgx* servers built on them) panic on every method whose XxxFunc is not
// set, and the dgxa100 server sets only a few (no bus width, clocks, ECC or
// power limit). An implementation that cannot answer one query must cost a
// note, not the inventory. The real library does not panic in Go; a crash in
// its C code is a signal that recover cannot catch, which is why no caller
// calls it after a failed Init.
func Guard(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked (not implemented by this NVML?): %v", r)
		}
	}()
	fn()
	return nil
}

// RetName names an NVML return code without calling into the library.
func RetName(ret nvml.Return) string {
	switch ret {
	case nvml.SUCCESS:
		return "SUCCESS"
	case nvml.ERROR_UNINITIALIZED:
		return "ERROR_UNINITIALIZED"
	case nvml.ERROR_INVALID_ARGUMENT:
		return "ERROR_INVALID_ARGUMENT"
	case nvml.ERROR_NOT_SUPPORTED:
		return "ERROR_NOT_SUPPORTED"
	case nvml.ERROR_NO_PERMISSION:
		return "ERROR_NO_PERMISSION"
	case nvml.ERROR_NOT_FOUND:
		return "ERROR_NOT_FOUND"
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return "ERROR_DRIVER_NOT_LOADED"
	case nvml.ERROR_TIMEOUT:
		return "ERROR_TIMEOUT"
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return "ERROR_LIBRARY_NOT_FOUND"
	case nvml.ERROR_FUNCTION_NOT_FOUND:
		return "ERROR_FUNCTION_NOT_FOUND"
	case nvml.ERROR_GPU_IS_LOST:
		return "ERROR_GPU_IS_LOST"
	case nvml.ERROR_OPERATING_SYSTEM:
		return "ERROR_OPERATING_SYSTEM"
	case nvml.ERROR_LIB_RM_VERSION_MISMATCH:
		return "ERROR_LIB_RM_VERSION_MISMATCH"
	case nvml.ERROR_UNKNOWN:
		return "ERROR_UNKNOWN"
	}
	return fmt.Sprintf("return code %d", int32(ret))
}
