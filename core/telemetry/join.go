package telemetry

import (
	"errors"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// Join is one sampler over several (NVML's and sysfs's, on a machine with
// both vendors' GPUs): a device's source is the first that has one. Its
// name is theirs joined by "+"; Close closes them all.
func Join(samplers ...Sampler) Sampler {
	if len(samplers) == 1 {
		return samplers[0]
	}
	return joined(samplers)
}

type joined []Sampler

func (j joined) Name() string {
	names := make([]string, len(j))
	for i, s := range j {
		names[i] = s.Name()
	}
	return strings.Join(names, "+")
}

func (j joined) Source(d matrix.Device) (Source, bool) {
	for _, s := range j {
		if src, ok := s.Source(d); ok {
			return src, true
		}
	}
	return nil, false
}

func (j joined) Close() error {
	var errs []error
	for _, s := range j {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
