using System.Globalization;
using System.Xml.Linq;
using Sandbox.Core;

namespace Sandbox.MicroVm;

/// <summary>
/// Which process owns a sandbox domain, stored in the domain's <c>&lt;metadata&gt;</c>: its pid, the pid's start time
/// (so a reused pid does not look alive), the host's boot id, and the store root the sandbox belongs to (several stores
/// may share one libvirtd: tests, users with their own <c>--root</c>).
/// </summary>
internal sealed record DomainOwner(int Pid, long StartTime, string BootId, string? Root = null)
{
    public const string Namespace = "https://sandbox.invalid/xmlns/microvm/1";

    public static DomainOwner Current(SandboxPaths paths) =>
        new(Environment.ProcessId, ProcessStartTime(Environment.ProcessId) ?? 0, HostBootId(), paths.Root);

    public string ToXml()
    {
        XNamespace ns = Namespace;
        var e = new XElement(ns + "owner", new XAttribute(XNamespace.Xmlns + "sandbox", Namespace),
            new XAttribute("pid", Pid), new XAttribute("start", StartTime), new XAttribute("boot", BootId));
        if (Root is not null) e.Add(new XAttribute("root", Root));
        return e.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>The element without its namespace, as <c>virDomainSetMetadata</c> takes it (libvirt adds the namespace).</summary>
    public string ToElementXml()
    {
        var e = new XElement("owner", new XAttribute("pid", Pid), new XAttribute("start", StartTime), new XAttribute("boot", BootId));
        if (Root is not null) e.Add(new XAttribute("root", Root));
        return e.ToString(SaveOptions.DisableFormatting);
    }

    public static DomainOwner? Parse(string? xml)
    {
        if (string.IsNullOrEmpty(xml)) return null;
        try
        {
            var e = XElement.Parse(xml);
            return new DomainOwner(
                int.Parse((string?)e.Attribute("pid") ?? "0", CultureInfo.InvariantCulture),
                long.Parse((string?)e.Attribute("start") ?? "0", CultureInfo.InvariantCulture),
                (string?)e.Attribute("boot") ?? "",
                (string?)e.Attribute("root"));
        }
        catch (Exception e) when (e is FormatException or System.Xml.XmlException) { return null; }
    }

    /// <summary>True while the owning process still runs (same boot, same pid, same start time, not a zombie).</summary>
    public bool IsAlive() => BootId == HostBootId() && ProcessStartTime(Pid) is long t && t == StartTime && !IsZombie(Pid);

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..] is ['Z' or 'X', ..];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return true; }
    }

    private static string HostBootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return ""; }
    }

    /// <summary>Field 22 of /proc/PID/stat (clock ticks after boot), or null when the process does not exist.</summary>
    internal static long? ProcessStartTime(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19 && long.TryParse(fields[19], out long t) ? t : null;
    }
}
