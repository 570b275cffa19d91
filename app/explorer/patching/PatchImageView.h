#pragma once
// A source image of the patching board, drawn with its patch grid. It highlights the
// positions a patch wrote (on the corrupted image) and, on the clean image, lets the user
// select a rectangle of patches and drag it away as a patch region (kPatchRegionMime).

#include <QImage>
#include <QWidget>

namespace prisma::app {

// "ROW0,COL0,ROW1,COL1" (inclusive patch indices) of a region dragged from the clean image.
inline const char* const kPatchRegionMime = "application/x-prisma-patch-region";

class PatchImageView : public QWidget {
  Q_OBJECT

public:
  explicit PatchImageView(QWidget* parent = nullptr);

  void setImage(const QImage& image, int gridRows, int gridCols, bool hasCls);
  void clear();
  bool hasImage() const { return !image_.isNull(); }
  // What an empty view says (by default, to drop an image).
  void setPlaceholder(const QString& text);
  // Token positions to mark (a CLS token is drawn as a frame around the image).
  void setHighlighted(const QVector<int>& tokens);
  const QVector<int>& highlighted() const { return highlighted_; }
  void setSelectable(bool selectable) { selectable_ = selectable; }

  // The selected patches (x = column, y = row); empty when nothing is selected.
  QRect selection() const { return selection_; }
  void setSelection(const QRect& patches);
  QVector<int> selectionTokens() const;
  // A patch's rectangle in widget pixels, for drawing and tests.
  QRect patchRect(int row, int col) const;
  int tokenOf(int row, int col) const { return (hasCls_ ? 1 : 0) + row * cols_ + col; }

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

signals:
  void selectionChanged(const QRect& patches);

protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;

private:
  QRect imageRect() const;
  QPoint patchAt(const QPoint& pos) const;  // clamped to the grid

  QImage image_;
  QString placeholder_;
  int rows_ = 0, cols_ = 0;
  bool hasCls_ = false;
  QVector<int> highlighted_;
  bool selectable_ = false;
  QRect selection_;
  QPoint anchor_{-1, -1};   // where a selection started (patch)
  QPoint pressPos_;
  bool dragArmed_ = false;  // pressed inside the selection: moving drags it away
};

}  // namespace prisma::app
