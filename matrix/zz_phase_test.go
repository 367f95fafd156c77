package matrix
import ("testing";"time";"path/filepath";"os";"io")
func TestZZPhases(t *testing.T){
	dir:=t.TempDir()
	o:=fleet("old",1,25,500,nil); n:=fleet("new",2,25,500,map[string]float64{"fw03":1.3})
	op:=filepath.Join(dir,"o.json"); np:=filepath.Join(dir,"n.json")
	t0:=time.Now(); f,_:=os.Create(op); WriteJSON(f,o); f.Close(); t.Log("write", time.Since(t0))
	f,_=os.Create(np); WriteJSON(f,n); f.Close()
	st,_:=os.Stat(op); t.Log("size MB", st.Size()/1e6)
	t0=time.Now(); a,_:=Read(op); t.Log("read", time.Since(t0))
	t0=time.Now(); b,_:=Read(np); t.Log("read", time.Since(t0))
	t0=time.Now(); c:=Diff(a,b,DefaultDiffThresholds); t.Log("diff", time.Since(t0))
	t0=time.Now(); WriteDiffText(io.Discard,c); t.Log("text", time.Since(t0))
}
