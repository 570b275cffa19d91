#include "app/gui/HoverBench.h"

#include "app/explorer/AttentionView.h"
#include "app/gui/MainWindow.h"

#include "widgets/HeadGrid.h"
#include "widgets/HeatmapView.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QMouseEvent>

#include <algorithm>
#include <random>
#include <vector>

namespace prisma::app {

namespace {
constexpr unsigned kHoverSeed = 1;
constexpr double kNsPerMs = 1e6;
constexpr double kP99 = 0.99;
}  // namespace

QString HoverBenchResult::describe() const {
  return QStringLiteral("hover -> repaint over %1 hovers: p50 %2 ms, p99 %3 ms, max %4 ms")
      .arg(hovers)
      .arg(p50, 0, 'f', 2)
      .arg(p99, 0, 'f', 2)
      .arg(max, 0, 'f', 2);
}

HoverBenchResult runHoverBench(MainWindow& window, int hovers) {
  AttentionView* view = window.attentionView();
  widgets::HeatmapView* large = view->largeView();
  view->setClsPinned(false);
  const auto& r = view->result();
  std::mt19937 rng(kHoverSeed);
  std::uniform_int_distribution<int> row(0, std::max(0, r.gridRows - 1)), col(0, std::max(0, r.gridCols - 1));
  std::vector<double> ms;
  QElapsedTimer timer;
  for (int i = 0; i < hovers; ++i) {
    const QPoint pos = large->patchRect(row(rng), col(rng)).center();
    QMouseEvent move(QEvent::MouseMove, pos, large->mapToGlobal(pos), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    timer.start();
    QCoreApplication::sendEvent(large, &move);
    view->headGrid()->repaint();
    large->repaint();
    ms.push_back(timer.nsecsElapsed() / kNsPerMs);
  }
  HoverBenchResult out;
  out.hovers = hovers;
  if (ms.empty()) return out;
  std::sort(ms.begin(), ms.end());
  out.p50 = ms[ms.size() / 2];
  out.p99 = ms[std::min(ms.size() - 1, static_cast<size_t>(kP99 * ms.size()))];
  out.max = ms.back();
  return out;
}

}  // namespace prisma::app
