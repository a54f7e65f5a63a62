using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pdm.Alerts.Persistence;
using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Prediction;

/// <summary>What one run of the Predict timer did.</summary>
public sealed record PredictOutcome(int Tenants, int Predicted, int Failed)
{
    /// <summary>Alert events stored with the predictions.</summary>
    public int AlertEvents { get; init; }

    /// <summary>Outbox rows stored with the predictions: notifying alert events for the publisher to send after the run.</summary>
    public int AlertOutbox { get; init; }
}

/// <summary>
/// One Predict run: for every tenant, every machine with a recent reading gets its window read, the production RUL
/// and state models that fit its sensors picked, a <see cref="MachinePrediction"/> made and stored. A machine that
/// fails is logged and skipped; the others go on. With <see cref="AlertEvaluations"/>, each prediction's alert rules
/// (health, failure probability, remaining life) are evaluated in the transaction that stores it.
/// </summary>
public sealed partial class FleetPredictor
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper) },
    };

    private readonly TenantStore _tenants;
    private readonly ReadingStore _readings;
    private readonly ScoreStore _scores;
    private readonly PredictionStore _predictions;
    private readonly ProductionModelSet<RulModel> _rulModels;
    private readonly ProductionModelSet<StateModel> _stateModels;
    private readonly PredictOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly AlertEvaluations? _alerts;

    public FleetPredictor(TenantStore tenants, ReadingStore readings, ScoreStore scores, PredictionStore predictions,
        ProductionModelCache models, IOptions<PredictOptions> options, TimeProvider clock, ILogger<FleetPredictor> logger,
        AlertEvaluations? alerts = null)
    {
        _alerts = alerts;
        _tenants = tenants;
        _readings = readings;
        _scores = scores;
        _predictions = predictions;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        _rulModels = ModelKinds.RulModels(models, logger);
        _stateModels = ModelKinds.StateModels(models, logger);
    }

    public async Task<PredictOutcome> RunAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var rulModels = await _rulModels.GetAsync(cancellationToken);
        var stateModels = await _stateModels.GetAsync(cancellationToken);
        var tenants = await _tenants.ListTenantsAsync(cancellationToken);
        int predicted = 0, failed = 0;
        AlertWriteResult alerts = default;
        foreach (var tenant in tenants)
        {
            foreach (var machineId in await _readings.ListActiveMachinesAsync(tenant.Id, now - _options.RecentWindow, cancellationToken))
            {
                try
                {
                    if (await PredictMachineAsync(tenant.Id, machineId, now, rulModels, stateModels, cancellationToken) is { } written)
                    {
                        predicted++;
                        alerts = alerts.Add(written);
                    }
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    failed++;
                    Log.MachineFailed(_logger, tenant.Id, machineId, ex);
                }
            }
        }
        Log.RunFinished(_logger, tenants.Count, predicted, failed);
        return new PredictOutcome(tenants.Count, predicted, failed) { AlertEvents = alerts.Events, AlertOutbox = alerts.Outbox };
    }

    /// <summary>The alert write of the machine's prediction (empty without alerts), or null when the machine had no samples.</summary>
    private async Task<AlertWriteResult?> PredictMachineAsync(Guid tenantId, string machineId, DateTimeOffset now,
        IReadOnlyList<ProductionModel<RulModel>> rulModels, IReadOnlyList<ProductionModel<StateModel>> stateModels,
        CancellationToken cancellationToken)
    {
        var history = OnReadingsClock(_options.History);
        var samples = await _readings.ReadMachineSamplesAsync(tenantId, machineId, now - history, now, _options.MaxSamples, cancellationToken);
        if (samples is null)
        {
            return null;
        }

        var last = samples.Timestamps[^1];
        var anomalyWindow = OnReadingsClock(_options.AnomalyWindow);
        anomalyWindow = anomalyWindow < _options.RecentWindow ? anomalyWindow : _options.RecentWindow;
        var anomalies = await _scores.SummarizeAnomalyScoresAsync(tenantId, machineId, now - anomalyWindow, now, cancellationToken);
        var rul = ProductionModelSet.BestFor(rulModels, samples.Sensors);
        var state = ProductionModelSet.BestFor(stateModels, samples.Sensors);
        var prediction = MachinePredictor.Predict(ToWindow(samples, _options.TimeScale), state?.Model, rul?.Model,
            new AnomalyPicture(anomalies.Scores, anomalies.Anomalies, VibrationZoneText.Parse(anomalies.WorstZone)));

        // Stamped with the latest sample it used: a run without new data stores nothing new.
        var row = new PredictionRow
        {
            MachineId = machineId,
            At = last,
            Health = prediction.Health,
            HealthProbabilities = JsonSerializer.SerializeToElement(prediction.HealthProbabilities, Json),
            RulSeconds = prediction.RulSeconds,
            RulP10Seconds = prediction.RulP10Seconds,
            RulP90Seconds = prediction.RulP90Seconds,
            FailureProbability24h = prediction.FailureProbability24h,
            FailureProbability48h = prediction.FailureProbability48h,
            Risk = RiskName(prediction.Risk),
            Explanation = JsonSerializer.SerializeToElement(prediction.Explanation, Json),
            Models = string.Join(',', new[] { rul?.Reference, state?.Reference }.OfType<string>()),
        };
        var alerter = _alerts?.ForPredictions([new PredictedMachine(machineId, prediction, last)]);
        return (await _predictions.WritePredictionsAsync(tenantId, [row], alerter, cancellationToken)).Alerts;
    }

    private static string RiskName(RiskLevel risk) => risk.ToString().ToUpperInvariant();

    /// <summary>A span of machine time as the span of the readings' clock in which it passes.</summary>
    private TimeSpan OnReadingsClock(TimeSpan machineTime) => TimeSpan.FromSeconds(machineTime.TotalSeconds / _options.TimeScale);

    /// <summary>The samples with their times in seconds of machine time, the time the models were trained on.</summary>
    private static MachineWindow ToWindow(MachineSamples samples, double timeScale) =>
        MachineWindow.FromReadingsClock(samples.MachineId, samples.Timestamps, samples.Sensors,
            new FeatureMatrix(samples.Values, samples.Sensors.Count), timeScale);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4210, Level = LogLevel.Warning, Message = "Predicting machine {MachineId} of tenant {TenantId} failed; the other machines go on")]
        public static partial void MachineFailed(ILogger logger, Guid tenantId, string machineId, Exception exception);

        [LoggerMessage(EventId = 4211, Level = LogLevel.Information, Message = "Predict run: {Tenants} tenants, {Predicted} machines predicted, {Failed} failed")]
        public static partial void RunFinished(ILogger logger, int tenants, int predicted, int failed);
    }
}
