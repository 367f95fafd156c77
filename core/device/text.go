package device

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText writes inv as the table `dlcompat devices` prints: one row per
// device (ID, name, memory, compute capability, driver, UUID), then the
// device notes, prefixed with the device ID, and the run-level notes.
func WriteText(w io.Writer, inv Inventory) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tMEMORY\tCOMPUTE\tDRIVER\tUUID")
	for _, d := range inv.Devices {
		mem := ""
		if d.MemoryTotalBytes > 0 {
			mem = formatBytes(d.MemoryTotalBytes)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			cell(d.ID), cell(d.Name), cell(mem), cell(d.ComputeCapability), cell(driverString(d)), cell(d.UUID))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write device table: %w", err)
	}

	var notes []string
	for _, d := range inv.Devices {
		for _, n := range d.Notes {
			notes = append(notes, d.ID+": "+n)
		}
	}
	notes = append(notes, inv.Notes...)
	if len(notes) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w, "\nNotes:"); err != nil {
		return fmt.Errorf("write device notes: %w", err)
	}
	for _, n := range notes {
		if _, err := fmt.Fprintf(w, "  %s\n", n); err != nil {
			return fmt.Errorf("write device notes: %w", err)
		}
	}
	return nil
}

// cell renders an unknown or inapplicable value as "-".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
