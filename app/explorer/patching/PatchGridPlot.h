#pragma once
// A patching grid as a QCustomPlot colour map: layers down, positions / heads across, a
// colour scale beside it. Cells not run yet (NaN) stay transparent, so an exact sweep
// fills in as it goes. Normalised metrics and differences use a diverging map centred on
// 0; raw metrics a sequential one. Clicking a cell emits cellClicked. Without a grid the
// plot shows a short text saying what to do instead of empty axes and a colour bar.

#include "app/explorer/patching/PatchingTypes.h"

#include <qcustomplot.h>

class QLabel;

namespace prisma::app {

class PatchGridPlot : public QCustomPlot {
  Q_OBJECT

public:
  enum class Scale { Sequential, Diverging };

  explicit PatchGridPlot(const QString& title, QWidget* parent = nullptr);

  void setGrid(const PatchingGrid& grid, Scale scale, const QString& valueLabel);
  void clearGrid();
  bool hasGrid() const { return rows_ > 0; }
  void setTitle(const QString& title);
  QString title() const;
  // What the empty plot says (what to do to fill it).
  void setPlaceholder(const QString& text);

  // The value the map holds at a cell, and a cell's centre in widget pixels (tests).
  double shownValue(int row, int col) const;
  QPoint cellCenter(int row, int col) const;
  // Marks a patch and its causal reach in a ViT: every position of every layer from the
  // patched one on (attention mixes positions, so one layer spreads a patch everywhere).
  void showReach(int row, int col);
  void clearReach();

signals:
  void cellClicked(int row, int col);

protected:
  void resizeEvent(QResizeEvent* event) override;

private:
  void onPress(QMouseEvent* event);

  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  QCPTextElement* title_ = nullptr;
  QCPItemRect* reach_ = nullptr;
  QCPItemRect* patched_ = nullptr;
  QLabel* placeholder_ = nullptr;
  int rows_ = 0, cols_ = 0;
};

}  // namespace prisma::app
