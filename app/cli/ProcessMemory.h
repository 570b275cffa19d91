#pragma once
// The benchmarks' view of this process's memory, from /proc/self (Linux): resident and
// peak sizes, and resetting the peak so one phase's high-water mark can be measured.

#include <string>

namespace prisma::cli {

// A field of /proc/self/status in kB (VmHWM, VmRSS, RssAnon, RssFile), or -1.
long statusKb(const std::string& field);

// Resets VmHWM to the current resident size; false where the kernel does not allow it
// (then VmHWM is the peak since the process started).
bool resetPeakRss();

}  // namespace prisma::cli
