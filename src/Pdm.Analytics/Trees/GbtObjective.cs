namespace Pdm.Analytics.Trees;

/// <summary>What the boosted trees fit: their raw output is a value, a log-odds or per-class scores.</summary>
public enum GbtObjective
{
    /// <summary>Regression with squared error; raw output is the prediction.</summary>
    SquaredError = 0,

    /// <summary>Binary classification (labels 0/1); raw output is the log-odds of class 1.</summary>
    Logistic = 1,

    /// <summary>Multiclass classification (labels 0..K-1); one tree per class per iteration, softmax over raw outputs.</summary>
    Softmax = 2,
}
