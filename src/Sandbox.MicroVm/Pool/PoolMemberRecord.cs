using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sandbox.MicroVm.Pool;

/// <summary>A warm pool member as its holder describes it in <c>run/&lt;id&gt;/pool.json</c>.</summary>
public sealed class PoolMemberRecord
{
    public const string FileName = "pool.json";
    public const string SocketName = "pool.sock";

    public string Id { get; set; } = "";
    /// <summary>The image as the user named it at fill time.</summary>
    public string Image { get; set; } = "";
    public string ImageDigest { get; set; } = "";
    /// <summary>The guest's RAM (the run's --memory plus the guest overhead), MiB.</summary>
    public long MemoryMiB { get; set; }
    public int Cpus { get; set; }
    public string Guest { get; set; } = "";
    public string Accelerator { get; set; } = "";
    public string Domain { get; set; } = "";
    public int HolderPid { get; set; }
    public bool Paused { get; set; }
    public DateTimeOffset Created { get; set; }
    /// <summary>Milliseconds from domain creation to init's ready ("waiting for Start").</summary>
    public double BootMilliseconds { get; set; }

    [JsonIgnore]
    public PoolShape Shape => new(ImageDigest, MemoryMiB, Cpus, Guest);

    public static PoolMemberRecord? Load(string dir)
    {
        try { return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(dir, FileName)), PoolJsonContext.Default.PoolMemberRecord); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    public void Save(string dir)
    {
        var temp = Path.Combine(dir, FileName + ".tmp");
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(this, PoolJsonContext.Default.PoolMemberRecord));
        File.Move(temp, Path.Combine(dir, FileName), overwrite: true);
    }
}

[JsonSourceGenerationOptions(WriteIndented = false, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PoolMemberRecord))]
[JsonSerializable(typeof(List<PoolMemberRecord>))]
[JsonSerializable(typeof(PoolMemberView))]
[JsonSerializable(typeof(List<PoolMemberView>))]
public sealed partial class PoolJsonContext : JsonSerializerContext;
