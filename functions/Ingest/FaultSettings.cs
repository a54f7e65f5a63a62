namespace Pdm.Functions.Ingest;

/// <summary>
/// Fault injection for the crash test of alert publishing, never for production (environment variable
/// <c>Pdm__Faults__CrashAfterAlertCommit</c>): the handler process dies right after an Ingest commit that wrote alert
/// events, before it publishes them, as a crash or a kill would leave it. The test proves nothing is lost then.
/// </summary>
public sealed class FaultSettings
{
    public const string Section = "Pdm:Faults";

    public bool CrashAfterAlertCommit { get; set; }
}
