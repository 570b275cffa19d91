#include "app/explorer/LogitLensView.h"

#include "widgets/PatchClassView.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMap>
#include <QSlider>
#include <QVBoxLayout>

namespace prisma::app {

namespace {
constexpr int kSummaryClasses = 5;
}

LogitLensView::LogitLensView(QWidget* parent) : QWidget(parent) {
  view_ = new widgets::PatchClassView(this);
  view_->setObjectName(QStringLiteral("lensView"));
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setObjectName(QStringLiteral("lensLayer"));
  slider_->setToolTip(tr("The residual stream before this layer (the last stop is the final residual)"));
  layerLabel_ = new QLabel(this);
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Layer:"), this));
  top->addWidget(slider_, 1);
  top->addWidget(layerLabel_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(view_, 1);
  layout->addWidget(summary_);
  connect(slider_, &QSlider::valueChanged, this, &LogitLensView::update);
}

void LogitLensView::setResult(const AttentionResult& result) {
  result_ = result;
  view_->setImage(result.input);
  const QSignalBlocker block(slider_);
  slider_->setRange(0, std::max(0, result.lensLayers - 1));
  if (slider_->value() > slider_->maximum()) slider_->setValue(slider_->maximum());
  update();
}

void LogitLensView::setLayer(int layer) { slider_->setValue(layer); }

int LogitLensView::layer() const { return slider_->value(); }

void LogitLensView::update() {
  if (!result_.lensTopClass || result_.lensLayers == 0) {
    view_->setClasses(0, 0, {}, {}, {});
    summary_->setText(tr("The logit lens needs a model with a classification head."));
    return;
  }
  const int l = slider_->value();
  const int n = result_.gridRows * result_.gridCols;
  const auto offset = static_cast<size_t>(l) * n;
  const QVector<int> classes(result_.lensTopClass->begin() + offset, result_.lensTopClass->begin() + offset + n);
  const QVector<float> logits(result_.lensTopLogit->begin() + offset, result_.lensTopLogit->begin() + offset + n);
  view_->setClasses(result_.gridRows, result_.gridCols, classes, logits, result_.classNames);
  layerLabel_->setText(l == result_.lensLayers - 1 ? tr("final residual") : tr("before layer %1").arg(l));

  QMap<int, int> counts;
  for (int c : classes) ++counts[c];
  QVector<QPair<int, int>> ranked;
  for (auto it = counts.begin(); it != counts.end(); ++it) ranked.push_back({it.value(), it.key()});
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  QStringList parts;
  for (int i = 0; i < ranked.size() && i < kSummaryClasses; ++i)
    parts << tr("%1 (%2): %3 patches").arg(result_.classNames.value(ranked[i].second)).arg(ranked[i].second).arg(ranked[i].first);
  summary_->setText(parts.join(QStringLiteral(" · ")));
}

}  // namespace prisma::app
