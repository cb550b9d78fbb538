package analyze

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoRenderingDependencies: a program that wants the Report does not
// pull in the table writer or the renderers (they live in analyze/render).
func TestNoRenderingDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "tablewriter") || strings.Contains(dep, "analyze/render") || strings.Contains(dep, "fatih/color") || strings.Contains(dep, "go-colorable") {
			t.Errorf("analyze depends on %s", dep)
		}
	}
}
