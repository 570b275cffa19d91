#include "model/train/EarlyStopping.h"

#include "model/Error.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace prisma::train {

bool EarlyStopping::evaluated(double value) {
  if (config_.every == EarlyStopEvery::Epoch) {
    latest_ = value;
    return false;
  }
  return update(value);
}

bool EarlyStopping::epochEnded() { return config_.every == EarlyStopEvery::Epoch && update(latest_); }

bool EarlyStopping::update(double value) {
  if (!enabled() || std::isnan(value)) return false;
  if (value > best_ + config_.min_delta) {
    best_ = value;
    sinceBest_ = 0;
    return false;
  }
  return ++sinceBest_ >= config_.patience;
}

nlohmann::json EarlyStopping::state() const {
  return {{"metric", toString(config_.metric)}, {"patience", config_.patience}, {"best", best_},
          {"evaluations_since_best", sinceBest_}, {"latest", std::isnan(latest_) ? nlohmann::json() : nlohmann::json(latest_)}};
}

void EarlyStopping::restore(const nlohmann::json& state, const std::string& source) {
  try {
    best_ = state.at("best").get<double>();
    sinceBest_ = state.at("evaluations_since_best").get<int>();
    const auto latest = state.find("latest");  // absent from checkpoints older than `every`
    latest_ = latest == state.end() || latest->is_null() ? std::numeric_limits<double>::quiet_NaN() : latest->get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(source, "early_stopping", std::string("unreadable: ") + e.what());
  }
}

}  // namespace prisma::train
