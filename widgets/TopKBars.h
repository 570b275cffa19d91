#pragma once
// The prediction panel: the top classes as horizontal bars with names and probabilities.
// A name too long for its column is cut in the middle, so names that share a beginning
// ("horizontal stripes left" / "... right") still differ, and hovering it shows it whole.

#include <QWidget>

namespace prisma::widgets {

struct ClassScore {
  QString name;
  double probability = 0.0;
};

class TopKBars : public QWidget {
  Q_OBJECT

public:
  explicit TopKBars(QWidget* parent = nullptr);

  void setScores(const QVector<ClassScore>& scores);  // already sorted, highest first
  const QVector<ClassScore>& scores() const { return scores_; }
  // The bar's drawn length for entry i, for tests: proportional to its probability.
  int barWidth(int i) const;

  QSize sizeHint() const override;

protected:
  bool event(QEvent* event) override;

private:
  void paintEvent(QPaintEvent* event) override;
  QRect barArea() const;
  QRect nameRect(int i) const;

  QVector<ClassScore> scores_;
};

}  // namespace prisma::widgets
