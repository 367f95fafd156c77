package device

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dlcompat/dlcompat/matrix"
)

// WriteText writes inv as the table `dlcompat devices` prints: one row per
// device (ID, name, memory, compute capability or an AMD GPU's gfx target,
// driver, UUID), then a line per AMD GPU with its PCI identity, then the
// device notes, prefixed with the device ID, and the run-level notes.
func WriteText(w io.Writer, inv Inventory) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tMEMORY\tCOMPUTE\tDRIVER\tUUID")
	for _, d := range inv.Devices {
		mem := ""
		if d.MemoryTotalBytes > 0 {
			mem = formatBytes(d.MemoryTotalBytes)
		}
		compute := d.ComputeCapability
		if compute == "" {
			compute = d.GFXTarget // an AMD GPU's
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			cell(d.ID), cell(d.Name), cell(mem), cell(compute), cell(driverString(d)), cell(d.UUID))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write device table: %w", err)
	}
	if err := writeAMD(w, inv); err != nil {
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

// writeAMD writes the PCI identity of each AMD GPU, which the table has
// no columns for: BDF, vendor:device rev, link, CUs, clock, render node.
func writeAMD(w io.Writer, inv Inventory) error {
	first := true
	for _, d := range inv.Devices {
		if d.Kind != matrix.KindROCm {
			continue
		}
		if first {
			if _, err := fmt.Fprintln(w, "\nAMD GPUs (sysfs):"); err != nil {
				return err
			}
			first = false
		}
		id := strings.TrimPrefix(d.PCIVendorID, "0x") + ":" + strings.TrimPrefix(d.PCIDeviceID, "0x")
		if d.PCIRevision != "" {
			id += " rev " + strings.TrimPrefix(d.PCIRevision, "0x")
		}
		if _, err := fmt.Fprintf(w, "  %s  %s  %s  %s  %d CUs  %d MHz  %s\n",
			d.ID, cell(d.PCIBusID), id, cell(link(d)), d.ComputeUnits, d.MaxSMClockMHz, cell(d.RenderNode)); err != nil {
			return err
		}
	}
	return nil
}
