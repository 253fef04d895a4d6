// Command bench measures pbox against the tools a user would pick instead,
// side by side in one run, and prints tables of medians and ratios. This
// machine is noisy: read the ratios, not the absolute times.
//
//	sudo go run ./bench            # everything
//	sudo go run ./bench -n 300     # more rounds per row
//
// Rows whose tool is not installed are left out. It is a benchmark, not a
// test: it asserts nothing, it only reports.
package main
