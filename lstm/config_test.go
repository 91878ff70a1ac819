package lstm

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		want string // the parameter named; "" valid
	}{
		{func(*Config) {}, ""},
		{func(c *Config) { c.Window = 8 }, "window_steps"},
		{func(c *Config) { c.Hidden = 0 }, "hidden"},
		{func(c *Config) { c.Layers = 0 }, "layers"},
		{func(c *Config) { c.Epochs = 0 }, "epochs"},
		{func(c *Config) { c.Batch = 0 }, "batch"},
		{func(c *Config) { c.LR = 0 }, "max_lr"},
		{func(c *Config) { c.Clip = -1 }, "clip_norm"},
		{func(c *Config) { c.AugmentSigma = -1 }, "augment_sigma_m"},
		{func(c *Config) { c.Shift = -1 }, "max_shift_steps"},
		{func(c *Config) { c.Readout = "max" }, "readout"},
		{func(c *Config) { c.TTA = 0 }, "tta"},
		{func(c *Config) { c.Workers = 0 }, "workers"},
		{func(c *Config) { c.Clip, c.AugmentSigma, c.Shift = 0, 0, 0 }, ""}, // 0 turns them off
	} {
		cfg := DefaultConfig()
		c.edit(&cfg)
		err := cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", cfg, err, c.want)
		}
	}
	if got := CheckpointName(30); got != "checkpoint/epoch-0030" {
		t.Errorf("CheckpointName(30) = %q", got)
	}
}
