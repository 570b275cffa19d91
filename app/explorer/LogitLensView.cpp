#include "app/explorer/LogitLensView.h"

#include "widgets/PatchClassView.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMap>
#include <QSlider>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace prisma::app {

namespace {
constexpr int kPlaceholderPage = 0, kLensPage = 1;
}

LogitLensView::LogitLensView(QWidget* parent) : QWidget(parent) {
  view_ = new widgets::PatchClassView(this);
  view_->setObjectName(QStringLiteral("lensView"));
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setObjectName(QStringLiteral("lensLayer"));
  slider_->setToolTip(tr("The residual stream before this layer (the last stop is the final residual)"));
  layerLabel_ = new QLabel(this);
  summary_ = new QLabel(this);
  summary_->setObjectName(QStringLiteral("lensLegend"));
  summary_->setWordWrap(true);
  summary_->setTextFormat(Qt::RichText);
  summary_->setToolTip(tr("Every class that wins a patch at this layer, in its colour, with the patches it wins"));
  auto* lens = new QWidget(this);
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Layer:"), lens));
  top->addWidget(slider_, 1);
  top->addWidget(layerLabel_);
  auto* lensLayout = new QVBoxLayout(lens);
  lensLayout->setContentsMargins(0, 0, 0, 0);
  lensLayout->addLayout(top);
  lensLayout->addWidget(view_, 1);
  lensLayout->addWidget(summary_);
  placeholder_ = new QLabel(this);
  placeholder_->setObjectName(QStringLiteral("lensPlaceholder"));
  placeholder_->setAlignment(Qt::AlignCenter);
  placeholder_->setWordWrap(true);
  pages_ = new QStackedWidget(this);
  pages_->insertWidget(kPlaceholderPage, placeholder_);
  pages_->insertWidget(kLensPage, lens);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(pages_);
  connect(slider_, &QSlider::valueChanged, this, &LogitLensView::update);
  update();
}

QString LogitLensView::countOf(int n, const QString& singular, const QString& plural) {
  return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? singular : plural);
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
  const bool hasLens = result_.isValid() && result_.lensTopClass && result_.lensLayers > 0;
  pages_->setCurrentIndex(hasLens ? kLensPage : kPlaceholderPage);
  if (!hasLens) {
    view_->setClasses(0, 0, {}, {}, {});
    layerLabel_->clear();
    summary_->clear();
    placeholder_->setText(
        result_.isValid()
            ? tr("The logit lens reads each patch through the model's classification head, and this model has none "
                 "(its output is a feature vector). Open a classifier to use it.")
            : tr("Each patch's best class at every layer appears here once a model and an image are open.\n\n"
                 "Open a classifier from the Models panel (double-click a bundled mouse) or with Ctrl+O, then pick "
                 "an image in the Images panel or open one (Ctrl+I)."));
    return;
  }
  const int l = slider_->value();
  const int n = result_.gridRows * result_.gridCols;
  const auto offset = static_cast<size_t>(l) * n;
  if (result_.lensTopClass->size() < offset + n || result_.lensTopLogit->size() < offset + n) return;
  const QVector<int> classes(result_.lensTopClass->begin() + offset, result_.lensTopClass->begin() + offset + n);
  const QVector<float> logits(result_.lensTopLogit->begin() + offset, result_.lensTopLogit->begin() + offset + n);
  view_->setClasses(result_.gridRows, result_.gridCols, classes, logits, result_.classNames);
  layerLabel_->setText(l == result_.lensLayers - 1 ? tr("final residual") : tr("before layer %1").arg(l));

  // A legend entry for every class on the image, most patches first: a swatch in the
  // class's tint, its name, its index when the name is not already that number (the
  // patches are labelled by index), and how many patches it wins.
  QMap<int, int> counts;
  for (int c : classes) ++counts[c];
  QVector<QPair<int, int>> ranked;
  for (auto it = counts.begin(); it != counts.end(); ++it) ranked.push_back({it.value(), it.key()});
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  QStringList parts;
  for (const auto& [count, cls] : ranked) {
    const QString name = result_.classNames.value(cls, tr("class %1").arg(cls));
    const QString index = name == QString::number(cls) ? QString() : QStringLiteral(" (%1)").arg(cls);
    parts << QStringLiteral("<span style=\"color:%1\">\u25a0</span>&nbsp;%2%3:&nbsp;%4")
                 .arg(widgets::PatchClassView::classColor(cls).name(), name.toHtmlEscaped(), index,
                      countOf(count, tr("patch"), tr("patches")));
  }
  summary_->setText(parts.join(QStringLiteral(" &nbsp; ")));
}

}  // namespace prisma::app
