using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Telemetry;

namespace Pdm.Simulator.Twin;

/// <summary>
/// A machine position on the plant floor that always holds a twin machine: it wears out (<see cref="DegradingMachine"/>),
/// breaks, stays broken for <see cref="RepairTime"/> (reporting its failure-level values, as a stopped machine's last
/// readings would) and is then replaced by a new one with no wear and its own Weibull life. Each life's seed follows
/// from the position's seed and the life's number, so the same seed gives the same lives in the same order.
/// The repair time is machine time (<see cref="TwinOptions.TimeScale"/>); the first machine may start part-way
/// through its life, the replacements start new.
/// </summary>
public sealed partial class MaintainedMachine : IMachineModel
{
    private readonly int _seed;
    private readonly TwinOptions _options;
    private readonly ILogger _logger;
    private DateTimeOffset? _brokenAt;

    /// <param name="startAge">The share of its life the first machine has already run (see <see cref="DegradingMachine"/>).</param>
    public MaintainedMachine(MachineProfile profile, int seed, TwinOptions options, TimeSpan repairTime, ILogger? logger = null,
        double startAge = 0)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(repairTime, TimeSpan.Zero);
        _seed = seed;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        RepairTime = repairTime;
        Current = new DegradingMachine(profile, seed, options, startAge);
    }

    public MachineProfile Profile => Current.Profile;

    /// <summary>The machine installed now.</summary>
    public DegradingMachine Current { get; private set; }

    /// <summary>How many times a broken machine was replaced by a new one.</summary>
    public int Replacements { get; private set; }

    /// <summary>How long (machine time) a broken machine stays in place before its replacement runs.</summary>
    public TimeSpan RepairTime { get; }

    /// <summary>
    /// The truth of the latest step; null before the first. Replaced whole on every step, so another thread (a status
    /// line) may read it while the simulator runs.
    /// </summary>
    public TwinTruth? LastTruth { get; private set; }

    public IReadOnlyList<SensorValue> Advance(DateTimeOffset now) => Step(now).Values;

    /// <summary>Advances the installed machine to <paramref name="now"/>, first replacing it when it has been broken long enough.</summary>
    public TwinSample Step(DateTimeOffset now)
    {
        if (_brokenAt is { } brokenAt && (now - brokenAt) * _options.TimeScale >= RepairTime)
        {
            Replacements++;
            Current = new DegradingMachine(Profile, LifeSeed(_seed, Replacements), _options);
            _brokenAt = null;
            Log.MachineReplaced(_logger, Profile.MachineId, Replacements, Current.TimeToFailure);
        }
        var sample = Current.Step(now);
        if (_brokenAt is null && sample.Truth.State == MachineState.Broken)
        {
            _brokenAt = now;
            Log.MachineBroke(_logger, Profile.MachineId, sample.Truth.Elapsed, RepairTime);
        }
        LastTruth = sample.Truth;
        return sample;
    }

    // Life 0 uses the position's seed itself, so a position's first life is the DegradingMachine of that seed.
    private static int LifeSeed(int seed, int life) => unchecked(seed + (int)(0x9E3779B9u * (uint)life));

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.TwinMachineBroke, Level = LogLevel.Warning,
            Message = "Machine {MachineId} broke after {Life}; it is replaced in {RepairTime}")]
        public static partial void MachineBroke(ILogger logger, string machineId, TimeSpan life, TimeSpan repairTime);

        [LoggerMessage(EventId = LogEvents.TwinMachineReplaced, Level = LogLevel.Information,
            Message = "Machine {MachineId} replaced by a new one (replacement {Replacement}; its time to failure: {TimeToFailure})")]
        public static partial void MachineReplaced(ILogger logger, string machineId, int replacement, TimeSpan timeToFailure);
    }
}
