package routing

// StepKind says what a route does at a step.
type StepKind int

const (
	StepJob StepKind = iota
	StepPickup
	StepDelivery
)

// Step is one stop of a route, with its schedule.
type Step struct {
	Kind StepKind
	// Index is the job's index in Problem.Jobs, or the shipment's in Problem.Shipments.
	Index     int
	Location  int
	Arrival   float64
	Wait      float64 // before service may begin
	Start     float64 // when service begins
	Departure float64
	Load      Amount // on board when leaving
}

// Route is one vehicle's day.
type Route struct {
	Vehicle   int
	Steps     []Step
	StartLoad Amount // loaded before leaving: the deliveries of its jobs
	Depart    float64
	Arrive    float64 // at the end location (or the last stop when the route has none)
	Distance  float64
	Duration  float64 // from departure to arrival
	Waiting   float64
}

// Unassigned is a job or shipment the plan leaves out, and why.
type Unassigned struct {
	Kind   StepKind // StepJob, or StepPickup for a shipment
	Index  int
	Reason string
}

// Solution is a plan and its totals.
type Solution struct {
	Routes     []Route
	Unassigned []Unassigned
	Distance   float64
	Duration   float64
	Vehicles   int
	// Cost is what the solver minimised (unserved work first, then distance or duration,
	// fixed costs and the vehicle tie-break).
	Cost float64
}

// Reasons an item is left out.
const (
	ReasonSkills   = "no vehicle has the skills"
	ReasonCapacity = "larger than any vehicle's capacity"
	ReasonWindow   = "no vehicle can reach it within its time windows and shift"
	ReasonNoRoom   = "no route had room for it in the time allowed"
)
