package lstm

import "fmt"

// Validate checks the settings, naming each by its parameter name (as in
// pipeline YAML and the model file's hyperparameters).
func (c *Config) Validate() error {
	bad := func(name string, v any, want string) error {
		return fmt.Errorf("lstm: %s %v: want %s", name, v, want)
	}
	switch {
	case c.Window < 16:
		return bad("window_steps", c.Window, "at least 16")
	case c.Hidden < 1:
		return bad("hidden", c.Hidden, "at least 1")
	case c.Layers < 1:
		return bad("layers", c.Layers, "at least 1")
	case c.Epochs < 1:
		return bad("epochs", c.Epochs, "at least 1")
	case c.Batch < 1:
		return bad("batch", c.Batch, "at least 1")
	case !(c.LR > 0):
		return bad("max_lr", c.LR, "a positive learning rate")
	case c.Clip < 0:
		return bad("clip_norm", c.Clip, "0 (off) or a positive norm")
	case !(c.AugmentSigma >= 0):
		return bad("augment_sigma_m", c.AugmentSigma, "0 (off) or a positive noise level")
	case c.Shift < 0:
		return bad("max_shift_steps", c.Shift, "0 (off) or more")
	case c.Readout != "mean" && c.Readout != "regression" && c.Readout != "softmax":
		return bad("readout", fmt.Sprintf("%q", c.Readout), "mean, regression or softmax")
	case c.Forecast && c.Readout == "softmax":
		return bad("readout", `"softmax"`, "mean or regression for a forecast (variant B): the reentry is not in the window")
	case c.TTA < 1:
		return bad("tta", c.TTA, "at least 1 (1: no test-time averaging)")
	case c.Workers < 1:
		return bad("workers", c.Workers, "at least 1")
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return bad("dropout", c.Dropout, "0 (off) up to but not including 1")
	case c.Dropout > 0 && c.Layers < 2:
		return bad("dropout", c.Dropout, "0 with one layer: it acts between stacked layers")
	case c.BatchNorm && c.Layers < 2:
		return bad("batch_norm", true, "false with one layer: it acts between stacked layers")
	case c.Patience < 0:
		return bad("early_stop_patience", c.Patience, "0 (off) or a number of epochs")
	case !(c.HoldoutFrac >= 0 && c.HoldoutFrac <= 0.5):
		return bad("early_stop_frac", c.HoldoutFrac, "a share of the training flights from 0 (the default, 0.15) to 0.5")
	case c.HoldoutFrac > 0 && c.Patience == 0:
		return bad("early_stop_frac", c.HoldoutFrac, "0 unless early_stop_patience turns early stopping on")
	}
	return nil
}

// CheckpointName is the run artifact of the checkpoint taken after epoch:
// one artifact per epoch, so earlier checkpoints stay next to the newest.
func CheckpointName(epoch int) string { return fmt.Sprintf("checkpoint/epoch-%04d", epoch) }
