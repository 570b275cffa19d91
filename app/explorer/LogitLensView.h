#pragma once
// The Logit lens tab: for a chosen layer (slider), each patch's residual stream pushed
// through the final LayerNorm (with the scale of the real run) and the head, shown as the
// top class per patch over the image, and a legend of every class shown (in its colour,
// most patches first). Before a model is open, a placeholder says what to do.

#include "app/explorer/ExplorerTypes.h"

#include <QWidget>

class QLabel;
class QSlider;
class QStackedWidget;

namespace prisma::widgets {
class PatchClassView;
}

namespace prisma::app {

class LogitLensView : public QWidget {
  Q_OBJECT

public:
  explicit LogitLensView(QWidget* parent = nullptr);

  void setResult(const AttentionResult& result);
  void setLayer(int layer);  // 0..lensLayers-1; the last is the final residual
  int layer() const;
  widgets::PatchClassView* patchView() const { return view_; }
  // "1 patch", "2 patches": a count and its noun, in the singular when it is one.
  static QString countOf(int n, const QString& singular, const QString& plural);

private:
  void update();

  AttentionResult result_;
  widgets::PatchClassView* view_ = nullptr;
  QSlider* slider_ = nullptr;
  QLabel* layerLabel_ = nullptr;
  QLabel* summary_ = nullptr;  // the legend
  QStackedWidget* pages_ = nullptr;  // placeholder, then the lens
  QLabel* placeholder_ = nullptr;
};

}  // namespace prisma::app
