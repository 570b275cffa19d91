#pragma once
// `prisma-explorer --bench-hover`: how long a hover takes to reach the screen. Each
// simulated mouse move over a patch makes it the query; the time runs until the large
// view and every thumbnail of the grid have repainted. Prints p50 / p99 / max in ms.

#include <QString>

namespace prisma::app {

class MainWindow;

struct HoverBenchResult {
  int hovers = 0;
  double p50 = 0, p99 = 0, max = 0;  // milliseconds
  QString describe() const;
};

// Runs synchronously on a window whose views are ready.
HoverBenchResult runHoverBench(MainWindow& window, int hovers);

}  // namespace prisma::app
