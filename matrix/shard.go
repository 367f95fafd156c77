package matrix

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one part of a fanned-out run: the K-th of N, 1 ≤ K ≤ N. The
// zero Shard means the whole run.
type Shard struct{ K, N int }

// ParseShard reads "k/n", such as "2/4".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	k, errK := strconv.Atoi(a)
	n, errN := strconv.Atoi(b)
	if !ok || errK != nil || errN != nil {
		return Shard{}, fmt.Errorf("shard %q is not k/n, such as 2/4", s)
	}
	if n < 1 || k < 1 || k > n {
		return Shard{}, fmt.Errorf("shard %q: want 1 ≤ k ≤ n (k counts from 1; a Kubernetes JOB_COMPLETION_INDEX counts from 0, so pass index+1)", s)
	}
	return Shard{K: k, N: n}, nil
}

// String is "k/n", or "" for the whole run.
func (s Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}
