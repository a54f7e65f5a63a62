using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Pdm.Analytics.Anomaly;
using Pdm.Prediction;
using Pdm.Storage;
using Pdm.Telemetry;

namespace Pdm.Ingest.Scoring;

/// <summary>How a machine without a registry model learns its own.</summary>
public sealed record AnomalyWarmupOptions
{
    /// <summary>Samples the machine's own model is fitted and calibrated on.</summary>
    public int Samples { get; init; } = MachineAnomalyTracker.DefaultWarmupSamples;

    /// <summary>
    /// Time those samples must span at least (every k-th sample is kept): a day covers shifts and ambient cycles;
    /// a model fitted on minutes of a machine whose load changes over hours would alarm on most of what follows.
    /// </summary>
    public TimeSpan MinimumSpan { get; init; } = TimeSpan.FromDays(1);
}

/// <summary>
/// Scores every stored machine sample with the machine's streaming anomaly ensemble and stores the score beside the
/// readings. Which model scores a machine:
/// <list type="number">
/// <item>the production registry model whose sensors the machine sends (<see cref="ProductionModelSet.BestFor"/>);</item>
/// <item>else the model the machine fitted on its own first samples (<see cref="Learned"/>);</item>
/// <item>else the <see cref="Baseline"/> (robust EWMA and the ISO 10816 zone check, no training) while the machine
/// collects those first samples, spread over its first day by default (<see cref="AnomalyWarmupOptions"/>).</item>
/// </list>
/// The detector state lives in the database and is read and written in the transaction that stores the readings and
/// their scores, so a machine's events may go to any instance, or arrive after a restart, and score exactly as if one
/// process had seen them all. A sample not later than the machine's last scored one (a replay, or a late arrival) is not scored again.
/// When the chosen model changes (a promotion), the machine's state starts afresh on the new model.
/// </summary>
public sealed partial class AnomalyScoring(ScoreStore scoreStore, ProductionModelSet<AnomalyModel>? registryModels,
    AnomalyWarmupOptions warmup, ILogger<AnomalyScoring> logger)
{
    public const string Baseline = "baseline";
    public const string Learned = "machine";

    // A learned model is a few hundred kilobytes: an instance keeps at most this many in memory (then starts over).
    private const int MaxCachedLearnedModels = 256;

    private readonly ILogger _logger = logger;

    // Learned models by machine. A machine's learned model is written once, so one in memory stays valid.
    private readonly ConcurrentDictionary<(Guid Tenant, string Machine), AnomalyModel> _learned = new();

    /// <summary>
    /// Gets ready to score <paramref name="batches"/>: picks each machine's model and loads what is not in memory yet,
    /// outside the write transaction. Pass <see cref="BatchScorer.Score"/> to
    /// <see cref="ReadingStore.WriteReadingsAsync(IReadOnlyList{TenantBatch}, TenantScorer?, CancellationToken)"/>.
    /// </summary>
    public async Task<BatchScorer> PrepareAsync(IReadOnlyList<TenantBatch> batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var registry = registryModels is null ? [] : await registryModels.GetAsync(cancellationToken);
        var tenants = new Dictionary<Guid, TenantPlan>();
        foreach (var tenant in batches.GroupBy(b => b.TenantId))
        {
            var machines = tenant.SelectMany(b => b.Samples).GroupBy(s => s.MachineId, StringComparer.Ordinal).ToDictionary(
                g => g.Key, g => g.OrderBy(s => s.Timestamp).ThenBy(s => s.Sequence).ToList(), StringComparer.Ordinal);
            var sensors = machines.ToDictionary(m => m.Key, m => SensorsOf(m.Value), StringComparer.Ordinal);
            var matches = machines.ToDictionary(m => m.Key,
                m => ProductionModelSet.BestFor(registry, sensors[m.Key]), StringComparer.Ordinal);
            var learned = await LoadLearnedAsync(tenant.Key,
                [.. matches.Where(m => m.Value is null).Select(m => m.Key)], cancellationToken);
            tenants[tenant.Key] = new TenantPlan(machines, sensors, matches, learned);
        }
        return new BatchScorer(this, tenants);
    }

    /// <summary>What a batch's machines are scored with; <see cref="Score"/> runs inside the write transaction.</summary>
    public sealed class BatchScorer
    {
        private readonly AnomalyScoring _owner;
        private readonly Dictionary<Guid, TenantPlan> _tenants;

        internal BatchScorer(AnomalyScoring owner, Dictionary<Guid, TenantPlan> tenants)
        {
            _owner = owner;
            _tenants = tenants;
            Score = ScoreTenant;
        }

        public TenantScorer Score { get; }

        /// <summary>Anomalous samples among those scored, once the write has run.</summary>
        public int Anomalies { get; private set; }

        /// <summary>Samples not later than their machine's last scored one (replays, late arrivals): not scored.</summary>
        public int Late { get; private set; }

        /// <summary>
        /// The score rows made for a tenant's samples by the last <see cref="Score"/> call (inside the write
        /// transaction), so alert rules evaluated in that transaction see each sample's score.
        /// </summary>
        public IReadOnlyList<AnomalyScoreRow> ScoresOf(Guid tenantId) => _scores.GetValueOrDefault(tenantId) ?? [];

        private readonly Dictionary<Guid, List<AnomalyScoreRow>> _scores = [];

        private ScoringWrite ScoreTenant(Guid tenantId, IReadOnlyDictionary<string, ScorerState> states,
            IReadOnlyDictionary<string, IsoZoneBoundaries> zones)
        {
            var plan = _tenants[tenantId];
            var scores = new List<AnomalyScoreRow>();
            var newStates = new List<ScorerState>(plan.Machines.Count);
            var learnedNow = new List<MachineAnomalyModel>();
            foreach (var (machineId, samples) in plan.Machines)
            {
                states.TryGetValue(machineId, out var state);
                var run = _owner.Start(tenantId, machineId, plan.Matches[machineId],
                    plan.Learned.GetValueOrDefault(machineId), plan.Sensors[machineId], state,
                    zones.GetValueOrDefault(machineId) ?? IsoZoneClasses.Of(IsoZoneClasses.Default));
                var before = scores.Count;
                Late += run.Score(samples, scores, learnedNow);
                for (var i = before; i < scores.Count; i++)
                {
                    Anomalies += scores[i].IsAnomaly ? 1 : 0;
                }
                if (scores.Count > before)
                {
                    newStates.Add(run.Save());
                }
            }
            foreach (var model in learnedNow)
            {
                _owner._logger.MachineModelLearned(model.MachineId, model.Fingerprint);
            }
            _scores[tenantId] = scores;
            return new ScoringWrite { Scores = scores, States = newStates, LearnedModels = learnedNow };
        }
    }

    internal sealed record TenantPlan(Dictionary<string, List<MachineSample>> Machines,
        Dictionary<string, string[]> Sensors, Dictionary<string, ProductionModel<AnomalyModel>?> Matches,
        Dictionary<string, AnomalyModel> Learned);

    /// <param name="zones">The machine's ISO 10816 table: its class, its kind's, or the default (it overrides a registry model's).</param>
    private MachineRun Start(Guid tenantId, string machineId, ProductionModel<AnomalyModel>? match,
        AnomalyModel? learned, IReadOnlyList<string> sensors, ScorerState? state, IsoZoneBoundaries zones)
    {
        var (reference, tracker) = match is not null ? (match.Reference, MachineAnomalyTracker.ForModel(match.Model, zones))
            : learned is not null ? (Learned, MachineAnomalyTracker.ForModel(learned, zones))
            : (Baseline, MachineAnomalyTracker.WarmingUp(state?.Model == Baseline ? state.Sensors : MachineAnomalyTracker.ScoredSensors(sensors),
                WarmupSeed(machineId), new AnomalyOptions { IsoZones = zones }, warmup.Samples, warmup.MinimumSpan));
        if (state is not null)
        {
            if (state.Model != reference)
            {
                _logger.ScorerModelChanged(machineId, state.Model, reference);
            }
            else if (!tracker.TryRestoreState(state.State, out var error))
            {
                _logger.ScorerStateUnusable(machineId, error ?? "unknown");
            }
        }
        return new MachineRun(this, tenantId, machineId, reference, tracker,
            state?.LastTimestamp ?? DateTimeOffset.MinValue, state?.Samples ?? 0);
    }

    private async Task<Dictionary<string, AnomalyModel>> LoadLearnedAsync(Guid tenantId, IReadOnlyCollection<string> machineIds,
        CancellationToken cancellationToken)
    {
        var models = new Dictionary<string, AnomalyModel>(StringComparer.Ordinal);
        if (machineIds.Count == 0)
        {
            return models;
        }
        // A machine's learned model never changes once stored (it is fitted once, deterministically), so one in memory
        // needs no round trip; the others are looked up in one query.
        var unknown = new List<string>();
        foreach (var machineId in machineIds)
        {
            if (_learned.TryGetValue((tenantId, machineId), out var cached))
            {
                models[machineId] = cached;
            }
            else
            {
                unknown.Add(machineId);
            }
        }
        if (unknown.Count == 0)
        {
            return models;
        }
        foreach (var stored in await scoreStore.GetMachineAnomalyModelsAsync(tenantId, unknown, cancellationToken))
        {
            var read = AnomalyModel.Read(stored.Artifact);
            if (read.Model is { } model)
            {
                models[stored.MachineId] = model;
                Remember(tenantId, stored.MachineId, model);
            }
            else
            {
                _logger.LearnedModelUnreadable(stored.MachineId, read.Error ?? "unknown");
            }
        }
        return models;
    }

    private void Remember(Guid tenantId, string machineId, AnomalyModel model)
    {
        if (_learned.Count >= MaxCachedLearnedModels)
        {
            _learned.Clear();
        }
        _learned[(tenantId, machineId)] = model;
    }

    /// <summary>The sensors a machine sent in this batch, in ordinal order: the baseline's feature order.</summary>
    private static string[] SensorsOf(List<MachineSample> samples)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var sample in samples)
        {
            foreach (var value in sample.Values)
            {
                names.Add(value.Sensor);
            }
        }
        return [.. names];
    }

    /// <summary>A machine learns the same model on every instance (and machines with the same data learn the same model).</summary>
    private static ulong WarmupSeed(string machineId) =>
        BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(machineId)));

    /// <summary>One machine's scoring within one batch.</summary>
    private sealed class MachineRun(AnomalyScoring owner, Guid tenantId, string machineId, string reference,
        MachineAnomalyTracker tracker, DateTimeOffset lastTimestamp, long samples)
    {
        private string _reference = reference;
        private DateTimeOffset _lastTimestamp = lastTimestamp;
        private long _samples = samples;

        /// <summary>Scores the samples after the last scored one; returns how many were too late.</summary>
        public int Score(List<MachineSample> list, List<AnomalyScoreRow> scores, List<MachineAnomalyModel> learned)
        {
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < tracker.Sensors.Count; i++)
            {
                index[tracker.Sensors[i]] = i;
            }
            var values = new double[tracker.Sensors.Count];
            var late = 0;
            foreach (var sample in list)
            {
                if (sample.Timestamp <= _lastTimestamp)
                {
                    late++;
                    continue;
                }
                values.AsSpan().Fill(double.NaN);
                foreach (var value in sample.Values)
                {
                    if (index.TryGetValue(value.Sensor, out var i))
                    {
                        values[i] = value.Value;
                    }
                }
                var warming = tracker.IsWarmingUp;
                var score = tracker.Score(values, sample.Timestamp.ToUnixTimeMilliseconds() / 1000.0);
                scores.Add(Row(sample, score));
                if (warming && !tracker.IsWarmingUp && tracker.LearnedModel is { } model)
                {
                    _reference = Learned;
                    learned.Add(new MachineAnomalyModel(machineId, (long)model.Fingerprint, model.ToBytes()));
                    owner.Remember(tenantId, machineId, model);
                }
                _lastTimestamp = sample.Timestamp;
                _samples++;
            }
            return late;
        }

        public ScorerState Save() => new()
        {
            MachineId = machineId,
            Model = _reference,
            Sensors = tracker.Sensors,
            LastTimestamp = _lastTimestamp,
            Samples = _samples,
            State = tracker.SaveState(),
        };

        private AnomalyScoreRow Row(MachineSample sample, AnomalyScore score)
        {
            var (sensors, contributions) = Top(tracker.Contributions);
            return new AnomalyScoreRow
            {
                MachineId = machineId,
                Timestamp = sample.Timestamp,
                Sequence = sample.Sequence,
                Score = score.Score,
                Threshold = score.Threshold,
                IsAnomaly = score.IsAnomaly,
                IsolationForest = score.IsolationForest,
                Statistical = score.Statistical,
                Temporal = score.Temporal,
                IsoZone = VibrationZoneText.Format(score.Zone),
                Model = _reference,
                TopSensors = sensors,
                TopContributions = contributions,
            };
        }

        /// <summary>The sensors with the largest positive contributions, largest first (ties: sensor order).</summary>
        private (string[] Sensors, double[] Contributions) Top(ReadOnlySpan<double> contributions)
        {
            Span<int> top = stackalloc int[ScoreStore.TopContributors];
            var count = tracker.LargestContributions(top);
            var sensors = new string[count];
            var values = new double[count];
            for (var k = 0; k < count; k++)
            {
                sensors[k] = tracker.Sensors[top[k]];
                values[k] = contributions[top[k]];
            }
            return (sensors, values);
        }
    }
}

internal static partial class ScoringLog
{
    [LoggerMessage(EventId = 4160, Level = LogLevel.Information,
        Message = "Machine {MachineId} finished its warm-up and now scores on its own model (fingerprint {Fingerprint})")]
    public static partial void MachineModelLearned(this ILogger logger, string machineId, long fingerprint);

    [LoggerMessage(EventId = 4161, Level = LogLevel.Information,
        Message = "Machine {MachineId} now scores on {NewModel} instead of {OldModel}; its detector state starts afresh")]
    public static partial void ScorerModelChanged(this ILogger logger, string machineId, string oldModel, string newModel);

    [LoggerMessage(EventId = 4162, Level = LogLevel.Warning,
        Message = "The stored detector state of machine {MachineId} cannot be used ({Reason}); it starts afresh")]
    public static partial void ScorerStateUnusable(this ILogger logger, string machineId, string reason);

    [LoggerMessage(EventId = 4163, Level = LogLevel.Warning,
        Message = "The learned anomaly model of machine {MachineId} cannot be read ({Reason}); it warms up again")]
    public static partial void LearnedModelUnreadable(this ILogger logger, string machineId, string reason);
}
