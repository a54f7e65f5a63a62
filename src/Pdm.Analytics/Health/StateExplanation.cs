namespace Pdm.Analytics.Health;

/// <summary>A health-state prediction with the additive contributions behind it (see <see cref="StateModel.ExplainLast"/>).</summary>
/// <param name="State">The most likely class.</param>
/// <param name="Probabilities">One per class, in the order of <see cref="StateModel.Classes"/>.</param>
/// <param name="Score">The predicted class's raw score (softmax input).</param>
/// <param name="ExpectedValue">The class's mean raw score over the training rows (the SHAP base value).</param>
/// <param name="Contributions">One per feature, in the order of <see cref="StateModel.FeatureNames"/>; they add up to Score - ExpectedValue.</param>
public sealed record StateExplanation(
    string State, IReadOnlyList<double> Probabilities, double Score, double ExpectedValue, IReadOnlyList<double> Contributions);
