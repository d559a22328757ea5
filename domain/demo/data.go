package demo

import (
	"time"

	"github.com/paulmach/orb"

	"courierd/domain/catalog"
)

// Unit codes are the statistics office's (GSO) own: 74 and 718 and the legacy ward codes
// before 1 July 2025, 79 and the current ward codes after it.
const (
	provinceBinhDuong = "74"
	districtThuDauMot = "718"
	provinceHCMC      = "79"

	wardPhuLoi  = "25744"
	wardPhuHoa  = "25750"
	wardPhuTho  = "25753"
	wardDinhHoa = "25759"
	wardPhuMy   = "25762"
	// wardPhuCuong is the old Phú Cường, not a pilot ward: its code went to the new
	// Phường Thủ Dầu Một, which absorbed it.
	wardPhuCuong = "25747"
)

// site is a place with a street address.
type site struct {
	address string
	at      orb.Point // lon, lat
}

// pilotWard is one of the five wards of the 2018 pilot (seed 000) with what the citizen
// generator draws from. Outlines are simplified shapes, not surveyed boundaries; they share
// edges where the wards meet and never overlap, so every address has one ward.
type pilotWard struct {
	code      string
	name      string      // without the "Phường" prefix, as addresses write it
	corners   []orb.Point // counter-clockwise, open: outline() closes the ring
	weight    int         // share of demo citizens, roughly following population
	quarters  int         // khu phố are numbered 1..quarters
	streets   []string
	committee site // the ward People's Committee (UBND phường)
}

var pilotWards = []pilotWard{
	{
		code: wardPhuLoi, name: "Phú Lợi", weight: 24, quarters: 8,
		corners: []orb.Point{
			{106.668, 10.981}, {106.675, 10.980}, {106.686, 10.983}, {106.701, 10.982},
			{106.700, 10.999}, {106.684, 11.001}, {106.667, 10.997},
		},
		streets:   []string{"đường Phú Lợi", "đường Huỳnh Văn Lũy", "đường Lê Thị Trung", "đường Phan Đăng Lưu", "đường Nguyễn Văn Trỗi"},
		committee: site{"đường Huỳnh Văn Lũy, khu phố 1, phường Phú Lợi, TP. Thủ Dầu Một, Bình Dương", orb.Point{106.6835, 10.9905}},
	},
	{
		code: wardPhuHoa, name: "Phú Hòa", weight: 26, quarters: 10,
		corners: []orb.Point{
			{106.675, 10.962}, {106.690, 10.960}, {106.702, 10.966}, {106.701, 10.982},
			{106.686, 10.983}, {106.675, 10.980},
		},
		streets:   []string{"Đại lộ Bình Dương", "đường Lê Hồng Phong", "đường Thích Quảng Đức", "đường Trần Văn Ơn", "đường 30 Tháng 4"},
		committee: site{"đường Lê Hồng Phong, khu phố 8, phường Phú Hòa, TP. Thủ Dầu Một, Bình Dương", orb.Point{106.6890, 10.9715}},
	},
	{
		code: wardPhuTho, name: "Phú Thọ", weight: 20, quarters: 7,
		corners: []orb.Point{
			{106.650, 10.955}, {106.662, 10.951}, {106.675, 10.957}, {106.675, 10.974},
			{106.664, 10.977}, {106.652, 10.971},
		},
		streets:   []string{"đường Cách Mạng Tháng Tám", "đường Lê Hồng Phong", "đường Huỳnh Thị Hiếu", "đường Trần Văn Ơn", "Đại lộ Bình Dương"},
		committee: site{"đường Cách Mạng Tháng Tám, khu phố 2, phường Phú Thọ, TP. Thủ Dầu Một, Bình Dương", orb.Point{106.6630, 10.9640}},
	},
	{
		code: wardDinhHoa, name: "Định Hòa", weight: 12, quarters: 6,
		corners: []orb.Point{
			{106.628, 11.012}, {106.648, 11.008}, {106.666, 11.018}, {106.664, 11.042},
			{106.645, 11.052}, {106.626, 11.038},
		},
		streets:   []string{"đường Lê Chí Dân", "đường Phạm Ngọc Thạch", "đường Mỹ Phước – Tân Vạn", "đường Nguyễn Chí Thanh"},
		committee: site{"đường Lê Chí Dân, khu phố 3, phường Định Hòa, TP. Thủ Dầu Một, Bình Dương", orb.Point{106.6460, 11.0280}},
	},
	{
		code: wardPhuMy, name: "Phú Mỹ", weight: 18, quarters: 9,
		corners: []orb.Point{
			{106.684, 11.001}, {106.700, 10.999}, {106.706, 11.012}, {106.700, 11.026},
			{106.680, 11.027}, {106.672, 11.012},
		},
		streets:   []string{"đường Huỳnh Văn Lũy", "Đại lộ Bình Dương", "đường Mỹ Phước – Tân Vạn", "đường Nguyễn Thị Minh Khai"},
		committee: site{"đường Huỳnh Văn Lũy, khu phố 4, phường Phú Mỹ, TP. Thủ Dầu Một, Bình Dương", orb.Point{106.6890, 11.0130}},
	},
}

// legacyUnits are the pilot wards' province and district before 1 July 2025; the wards
// themselves come from pilotWards.
var legacyUnits = []catalog.AdminUnit{
	{Code: provinceBinhDuong, Name: "Tỉnh Bình Dương", Level: catalog.LevelProvince, Kind: "province", Legacy: true},
	{Code: districtThuDauMot, Name: "Thành phố Thủ Dầu Một", Level: catalog.LevelDistrict, Kind: "city", ParentCode: provinceBinhDuong, Legacy: true},
}

// reformDate is the first day of two-level local government: the legacy wards ended the
// day before, merged into the new ones.
var reformDate = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

// currentUnits are the same ground after 1 July 2025. The new wards reuse codes of merged
// legacy wards (GSO letter 1027/CTK-CSCL, 2025): the new Phường Thủ Dầu Một took 25747 of
// the old Phú Cường, the new Phường Phú Lợi 25750 of the old Phú Hòa; old and new units
// share the code, each for its own period.
var currentUnits = []catalog.AdminUnit{
	{Code: provinceHCMC, Name: "Thành phố Hồ Chí Minh", Level: catalog.LevelProvince, Kind: "city"},
	{Code: "25747", Name: "Phường Thủ Dầu Một", Level: catalog.LevelCommune, Kind: "ward", ParentCode: provinceHCMC, ValidFrom: &reformDate},
	{Code: "25750", Name: "Phường Phú Lợi", Level: catalog.LevelCommune, Kind: "ward", ParentCode: provinceHCMC, ValidFrom: &reformDate},
	{Code: "25760", Name: "Phường Bình Dương", Level: catalog.LevelCommune, Kind: "ward", ParentCode: provinceHCMC, ValidFrom: &reformDate},
	{Code: "25768", Name: "Phường Phú An", Level: catalog.LevelCommune, Kind: "ward", ParentCode: provinceHCMC, ValidFrom: &reformDate},
	{Code: "25771", Name: "Phường Chánh Hiệp", Level: catalog.LevelCommune, Kind: "ward", ParentCode: provinceHCMC, ValidFrom: &reformDate},
}

// mergedInto is the new ward each legacy ward of the demo became on reformDate.
var mergedInto = map[string]string{
	wardPhuCuong: "25747", wardPhuTho: "25747", wardPhuLoi: "25750", wardPhuHoa: "25750", wardDinhHoa: "25771", wardPhuMy: "25760",
}

// The provincial bodies sit in the province's centralised administrative centre in Hòa Phú,
// north of the pilot wards; their codes follow the e-document identifier shape
// (000.Z.Y.Hnn) with made-up middle parts.
const centreHoaPhu = "Trung tâm Hành chính tập trung tỉnh Bình Dương, đường Lê Lợi, phường Hòa Phú, TP. Thủ Dầu Một, Bình Dương"

var provincialAgencies = []catalog.Agency{
	{Code: "000.00.06.H12", Name: "Sở Kế hoạch và Đầu tư tỉnh Bình Dương", Kind: catalog.AgencyDepartment, Address: "Tháp A, " + centreHoaPhu, Location: orb.Point{106.6838, 11.0531}},
	{Code: "000.00.14.H12", Name: "Sở Tư pháp tỉnh Bình Dương", Kind: catalog.AgencyDepartment, Address: "Tháp B, " + centreHoaPhu, Location: orb.Point{106.6846, 11.0528}},
	{Code: "000.00.08.H12", Name: "Sở Giao thông vận tải tỉnh Bình Dương", Kind: catalog.AgencyDepartment, Address: "Tháp A, " + centreHoaPhu, Location: orb.Point{106.6839, 11.0533}},
	{Code: "000.00.15.H12", Name: "Sở Xây dựng tỉnh Bình Dương", Kind: catalog.AgencyDepartment, Address: "Tháp B, " + centreHoaPhu, Location: orb.Point{106.6847, 11.0530}},
	{Code: "000.00.13.H12", Name: "Sở Tài nguyên và Môi trường tỉnh Bình Dương", Kind: catalog.AgencyDepartment, Address: "Tháp A, " + centreHoaPhu, Location: orb.Point{106.6840, 11.0535}},
	{Code: "000.06.20.H12", Name: "Phòng Cảnh sát quản lý hành chính về trật tự xã hội, Công an tỉnh Bình Dương", Kind: catalog.AgencyPolice, Address: "đường 30 Tháng 4, phường Phú Hòa, TP. Thủ Dầu Một, Bình Dương", Location: orb.Point{106.6790, 10.9760}},
	{Code: "000.00.21.H12", Name: "Bảo hiểm xã hội tỉnh Bình Dương", Kind: catalog.AgencySocialInsurance, Address: "đường Cách Mạng Tháng Tám, phường Phú Cường, TP. Thủ Dầu Một, Bình Dương", Location: orb.Point{106.6555, 10.9805}},
}

// postOffice describes an office by the pilot wards it serves; Build turns the list into
// its service area.
type postOffice struct {
	code, name string
	kind       catalog.PostOfficeKind
	unit       string
	office     site
	serves     []string
}

// Postal codes are invented in the 2018 national scheme, where Thủ Dầu Một is 751xx.
var postOffices = []postOffice{
	{
		code: "751100", name: "Bưu cục Thủ Dầu Một", kind: catalog.PostOfficeFull, unit: wardPhuHoa,
		office: site{"số 324 Đại lộ Bình Dương, phường Phú Hòa, TP. Thủ Dầu Một, Bình Dương", orb.Point{106.6800, 10.9720}},
		serves: []string{wardPhuHoa, wardPhuLoi, wardPhuTho},
	},
	{
		code: "751150", name: "Bưu điện văn hóa xã Định Hòa", kind: catalog.PostOfficeCommuneCultural, unit: wardDinhHoa,
		office: site{"đường Lê Chí Dân, khu phố 2, phường Định Hòa, TP. Thủ Dầu Một, Bình Dương", orb.Point{106.6450, 11.0300}},
		serves: []string{wardPhuMy, wardDinhHoa},
	},
}

// Procedure flags, combined with |.
type flags uint8

const (
	pickup flags = 1 << iota
	delivery
	identity
	proxy
	byPost = pickup | delivery
)

type procedure struct {
	code, name   string
	kind         catalog.AgencyKind
	days         int
	fee, postage int64
	flags        flags
	docs         []catalog.RequiredDocument
}

func doc(form catalog.DocumentForm, quantity int, name string) catalog.RequiredDocument {
	return catalog.RequiredDocument{Name: name, Form: form, Quantity: quantity}
}

func original(name string) catalog.RequiredDocument { return doc(catalog.FormOriginal, 1, name) }
func copyOf(name string) catalog.RequiredDocument   { return doc(catalog.FormCopy, 1, name) }
func certified(name string) catalog.RequiredDocument {
	return doc(catalog.FormCertifiedCopy, 1, name)
}

// Papers many procedures ask for.
var (
	applicantID   = copyOf("Căn cước của người yêu cầu")
	photos        = doc(catalog.FormOriginal, 2, "Ảnh chân dung 4x6 cm, nền trắng")
	insuranceForm = original("Tờ khai tham gia, điều chỉnh thông tin bảo hiểm xã hội, bảo hiểm y tế (mẫu TK1-TS)")
	landCert      = original("Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất đã cấp")
	companyForm   = original("Giấy đề nghị đăng ký doanh nghiệp theo mẫu")
	residenceForm = original("Tờ khai thay đổi thông tin cư trú (mẫu CT01)")
)

// procedures: a few codes (1.001193, 1.000894, 1.000656, 2.000908, 2.000815, 2.000488) are
// the national database's as remembered; the rest are made up in its format. Fees are
// whole đồng; 0 where the law exempts the fee.
var procedures = []procedure{
	// People's Committee of the ward: civil status, certification, household business, housing.
	{"1.001193", "Đăng ký khai sinh", catalog.AgencyCommuneCommittee, 0, 0, 15_000, byPost | proxy, []catalog.RequiredDocument{
		original("Tờ khai đăng ký khai sinh theo mẫu"), original("Giấy chứng sinh"), copyOf("Căn cước của người đi đăng ký")}},
	{"1.000894", "Đăng ký kết hôn", catalog.AgencyCommuneCommittee, 3, 0, 15_000, pickup | identity, []catalog.RequiredDocument{
		original("Tờ khai đăng ký kết hôn theo mẫu"), doc(catalog.FormCopy, 2, "Căn cước của hai bên nam, nữ"), original("Giấy xác nhận tình trạng hôn nhân (nếu đăng ký ngoài nơi cư trú)")}},
	{"1.000656", "Đăng ký khai tử", catalog.AgencyCommuneCommittee, 0, 0, 15_000, byPost | proxy, []catalog.RequiredDocument{
		original("Tờ khai đăng ký khai tử theo mẫu"), original("Giấy báo tử hoặc giấy tờ thay thế Giấy báo tử"), copyOf("Căn cước của người đi đăng ký")}},
	{"1.004873", "Cấp Giấy xác nhận tình trạng hôn nhân", catalog.AgencyCommuneCommittee, 3, 0, 15_000, byPost, []catalog.RequiredDocument{
		original("Tờ khai cấp Giấy xác nhận tình trạng hôn nhân theo mẫu"), applicantID, certified("Bản án hoặc quyết định ly hôn đã có hiệu lực (nếu đã ly hôn)")}},
	{"1.004884", "Đăng ký lại khai sinh", catalog.AgencyCommuneCommittee, 5, 0, 15_000, byPost | proxy, []catalog.RequiredDocument{
		original("Tờ khai đăng ký lại khai sinh theo mẫu"), copyOf("Giấy tờ, tài liệu chứng minh nội dung khai sinh"), applicantID}},
	{"1.004859", "Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch", catalog.AgencyCommuneCommittee, 3, 15_000, 15_000, byPost | proxy, []catalog.RequiredDocument{
		original("Tờ khai đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch theo mẫu"), original("Giấy tờ hộ tịch cần thay đổi, cải chính"), copyOf("Giấy tờ làm căn cứ thay đổi, cải chính")}},
	{"2.000635", "Cấp bản sao trích lục hộ tịch", catalog.AgencyCommuneCommittee, 0, 8_000, 15_000, byPost | proxy, []catalog.RequiredDocument{
		original("Tờ khai cấp bản sao trích lục hộ tịch theo mẫu"), applicantID}},
	{"2.000908", "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của Việt Nam cấp hoặc chứng nhận", catalog.AgencyCommuneCommittee, 1, 2_000, 15_000, byPost | proxy, []catalog.RequiredDocument{
		original("Bản chính giấy tờ, văn bản cần chứng thực"), copyOf("Bản chụp giấy tờ, văn bản cần chứng thực")}},
	// Signatures are made before the official, so the dossier cannot be picked up.
	{"2.000815", "Chứng thực chữ ký trong các giấy tờ, văn bản", catalog.AgencyCommuneCommittee, 0, 10_000, 15_000, delivery | identity, []catalog.RequiredDocument{
		original("Giấy tờ, văn bản cần chứng thực chữ ký"), applicantID}},
	{"2.001035", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản", catalog.AgencyCommuneCommittee, 2, 50_000, 20_000, delivery | identity, []catalog.RequiredDocument{
		doc(catalog.FormOriginal, 2, "Dự thảo hợp đồng, giao dịch"), doc(catalog.FormCopy, 2, "Căn cước của các bên tham gia"), copyOf("Giấy chứng nhận đăng ký tài sản")}},
	{"2.000720", "Đăng ký thành lập hộ kinh doanh", catalog.AgencyCommuneCommittee, 3, 100_000, 20_000, byPost | proxy, []catalog.RequiredDocument{
		original("Giấy đề nghị đăng ký hộ kinh doanh theo mẫu"), copyOf("Căn cước của chủ hộ kinh doanh"), copyOf("Hợp đồng thuê địa điểm kinh doanh (nếu thuê)")}},
	{"2.000575", "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", catalog.AgencyCommuneCommittee, 3, 50_000, 20_000, byPost | proxy, []catalog.RequiredDocument{
		original("Thông báo thay đổi nội dung đăng ký hộ kinh doanh theo mẫu"), original("Giấy chứng nhận đăng ký hộ kinh doanh đã cấp")}},
	{"1.009994", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", catalog.AgencyCommuneCommittee, 15, 75_000, 25_000, byPost | proxy, []catalog.RequiredDocument{
		original("Đơn đề nghị cấp giấy phép xây dựng theo mẫu"), certified("Giấy chứng nhận quyền sử dụng đất"),
		doc(catalog.FormOriginal, 2, "Bản vẽ thiết kế xây dựng (mặt bằng, mặt cắt, mặt đứng, móng)"), copyOf("Căn cước của chủ đầu tư")}},

	// Police: residence and identity. Cards and passports need biometrics taken in person,
	// so only the result travels by post.
	{"1.004194", "Đăng ký thường trú", catalog.AgencyPolice, 7, 20_000, 20_000, byPost | identity, []catalog.RequiredDocument{
		residenceForm, copyOf("Giấy tờ, tài liệu chứng minh chỗ ở hợp pháp"), original("Văn bản đồng ý của chủ hộ (nếu nhập vào hộ đã có)")}},
	{"1.004222", "Đăng ký tạm trú", catalog.AgencyPolice, 3, 15_000, 20_000, byPost | identity, []catalog.RequiredDocument{
		residenceForm, copyOf("Hợp đồng thuê, mượn, ở nhờ chỗ ở")}},
	{"1.004206", "Xác nhận thông tin về cư trú", catalog.AgencyPolice, 1, 0, 20_000, byPost | identity, []catalog.RequiredDocument{
		original("Tờ khai thay đổi thông tin cư trú (mẫu CT01) ghi rõ nội dung cần xác nhận")}},
	{"2.001635", "Cấp đổi thẻ Căn cước", catalog.AgencyPolice, 7, 50_000, 25_000, delivery | identity, []catalog.RequiredDocument{
		original("Thẻ Căn cước công dân hoặc thẻ Căn cước đang sử dụng")}},
	{"2.001636", "Cấp lại thẻ Căn cước", catalog.AgencyPolice, 7, 70_000, 25_000, delivery | identity, []catalog.RequiredDocument{
		original("Tờ khai Căn cước (mẫu CC01)")}},
	{"1.000080", "Cấp giấy xác nhận số chứng minh nhân dân 9 số, số định danh cá nhân", catalog.AgencyPolice, 3, 0, 20_000, byPost | identity, []catalog.RequiredDocument{
		original("Đơn đề nghị cấp giấy xác nhận theo mẫu"), copyOf("Thẻ Căn cước hoặc Căn cước công dân")}},
	{"2.002234", "Cấp hộ chiếu phổ thông ở trong nước", catalog.AgencyPolice, 8, 200_000, 30_000, delivery | identity, []catalog.RequiredDocument{
		original("Tờ khai đề nghị cấp hộ chiếu phổ thông (mẫu TK01)"), photos, original("Hộ chiếu cũ (nếu đã được cấp)")}},

	// Department of Justice.
	{"2.000488", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam", catalog.AgencyDepartment, 10, 200_000, 30_000, byPost | identity | proxy, []catalog.RequiredDocument{
		original("Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp theo mẫu"), applicantID, certified("Văn bản ủy quyền (nếu ủy quyền làm thủ tục)")}},
	// Certificate no. 2 goes to the person it describes and to no one else.
	{"2.000505", "Cấp Phiếu lý lịch tư pháp số 2 cho cá nhân", catalog.AgencyDepartment, 10, 200_000, 30_000, byPost | identity, []catalog.RequiredDocument{
		original("Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp số 2 theo mẫu"), applicantID}},

	// Department of Planning and Investment.
	{"2.001610", "Đăng ký thành lập doanh nghiệp tư nhân", catalog.AgencyDepartment, 3, 50_000, 30_000, byPost | proxy, []catalog.RequiredDocument{
		companyForm, copyOf("Căn cước của chủ doanh nghiệp tư nhân")}},
	{"2.002040", "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên", catalog.AgencyDepartment, 3, 50_000, 30_000, byPost | proxy, []catalog.RequiredDocument{
		companyForm, original("Điều lệ công ty"), copyOf("Căn cước của chủ sở hữu công ty"), copyOf("Căn cước của người đại diện theo pháp luật")}},
	{"2.002034", "Đăng ký thành lập công ty cổ phần", catalog.AgencyDepartment, 3, 50_000, 30_000, byPost | proxy, []catalog.RequiredDocument{
		companyForm, original("Điều lệ công ty"), original("Danh sách cổ đông sáng lập"), doc(catalog.FormCopy, 2, "Căn cước của các cổ đông sáng lập")}},
	{"2.002008", "Đăng ký thay đổi người đại diện theo pháp luật của công ty trách nhiệm hữu hạn, công ty cổ phần", catalog.AgencyDepartment, 3, 50_000, 30_000, byPost | proxy, []catalog.RequiredDocument{
		original("Thông báo thay đổi nội dung đăng ký doanh nghiệp theo mẫu"), original("Nghị quyết, quyết định về việc thay đổi người đại diện"), copyOf("Căn cước của người đại diện mới")}},

	// Department of Transport.
	{"1.002804", "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp", catalog.AgencyDepartment, 5, 135_000, 35_000, byPost | identity, []catalog.RequiredDocument{
		original("Đơn đề nghị đổi giấy phép lái xe theo mẫu"), copyOf("Giấy phép lái xe đang sử dụng"), original("Giấy khám sức khỏe của người lái xe"), applicantID}},
	{"1.002809", "Cấp lại giấy phép lái xe", catalog.AgencyDepartment, 5, 135_000, 35_000, byPost | identity, []catalog.RequiredDocument{
		original("Đơn đề nghị cấp lại giấy phép lái xe theo mẫu"), original("Giấy khám sức khỏe của người lái xe"), applicantID}},

	// Department of Construction.
	{"1.009972", "Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III", catalog.AgencyDepartment, 20, 300_000, 35_000, byPost | proxy, []catalog.RequiredDocument{
		original("Đơn đề nghị cấp chứng chỉ hành nghề theo mẫu"), photos, certified("Văn bằng đào tạo chuyên môn"), original("Bản khai kinh nghiệm công việc chuyên môn")}},
	{"1.009975", "Cấp giấy phép xây dựng mới đối với công trình cấp II, cấp III", catalog.AgencyDepartment, 20, 150_000, 45_000, byPost | proxy, []catalog.RequiredDocument{
		original("Đơn đề nghị cấp giấy phép xây dựng theo mẫu"), certified("Giấy tờ chứng minh quyền sử dụng đất"),
		doc(catalog.FormOriginal, 2, "Hồ sơ thiết kế xây dựng đã được thẩm định"), copyOf("Quyết định phê duyệt dự án")}},

	// Department of Natural Resources and Environment: land.
	{"1.004227", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất do chuyển nhượng, tặng cho, thừa kế", catalog.AgencyDepartment, 10, 50_000, 40_000, byPost | proxy, []catalog.RequiredDocument{
		original("Đơn đăng ký biến động đất đai, tài sản gắn liền với đất theo mẫu"), landCert,
		certified("Hợp đồng chuyển nhượng, tặng cho hoặc văn bản thừa kế đã công chứng"), copyOf("Căn cước của bên nhận quyền")}},
	{"1.005398", "Cấp đổi Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", catalog.AgencyDepartment, 7, 50_000, 40_000, byPost | proxy, []catalog.RequiredDocument{
		original("Đơn đề nghị cấp đổi Giấy chứng nhận theo mẫu"), landCert}},
	{"1.003010", "Đăng ký thế chấp quyền sử dụng đất, tài sản gắn liền với đất", catalog.AgencyDepartment, 1, 80_000, 35_000, byPost | proxy, []catalog.RequiredDocument{
		original("Phiếu yêu cầu đăng ký thế chấp theo mẫu"), certified("Hợp đồng thế chấp đã công chứng, chứng thực"), landCert}},
	{"1.003003", "Xóa đăng ký thế chấp quyền sử dụng đất, tài sản gắn liền với đất", catalog.AgencyDepartment, 1, 20_000, 35_000, byPost | proxy, []catalog.RequiredDocument{
		original("Phiếu yêu cầu xóa đăng ký biện pháp bảo đảm theo mẫu"), landCert}},

	// Social insurance: no fees. A lump-sum payout is paid to the insured person, who proves
	// identity on delivery.
	{"1.000312", "Cấp lại sổ bảo hiểm xã hội do mất, hỏng", catalog.AgencySocialInsurance, 10, 0, 25_000, byPost | proxy, []catalog.RequiredDocument{
		insuranceForm, original("Sổ bảo hiểm xã hội bị hỏng (nếu có)")}},
	{"1.000318", "Cấp lại thẻ bảo hiểm y tế do bị mất, hỏng", catalog.AgencySocialInsurance, 3, 0, 20_000, byPost | proxy, []catalog.RequiredDocument{
		insuranceForm}},
	{"1.000327", "Giải quyết hưởng bảo hiểm xã hội một lần", catalog.AgencySocialInsurance, 10, 0, 25_000, byPost | identity | proxy, []catalog.RequiredDocument{
		original("Sổ bảo hiểm xã hội"), original("Đơn đề nghị hưởng bảo hiểm xã hội một lần (mẫu 14-HSB)"), copyOf("Căn cước của người lao động")}},
}

// calendarEntry is an announced exception to the Monday–Friday week.
type calendarEntry struct {
	year  int
	month time.Month
	day   int
	kind  catalog.DayKind
	name  string
}

const (
	newYear       = "Tết Dương lịch"
	hungKings     = "Giỗ Tổ Hùng Vương (10/3 âm lịch)"
	reunification = "Ngày Giải phóng miền Nam, thống nhất đất nước (30/4)"
	labourDay     = "Ngày Quốc tế Lao động (1/5)"
	nationalDay   = "Quốc khánh (2/9)"
	nationalExtra = "Nghỉ Quốc khánh (ngày liền kề 2/9)"
)

// calendar covers 2025–2027. 2025 and 2026 follow the announced schedules as recalled
// (2025: Tết from 25/1 to 2/2 with Monday 27/1 swapped for Saturday 8/2, Friday 2/5 for
// Saturday 26/4); the 2027 lunar dates are computed, the rest days a plausible guess.
var calendar = []calendarEntry{
	{2025, time.January, 1, catalog.DayHoliday, newYear},
	{2025, time.January, 27, catalog.DayOff, "Nghỉ hoán đổi dịp Tết Nguyên Đán Ất Tỵ (làm bù thứ Bảy 08/02)"},
	{2025, time.January, 28, catalog.DayHoliday, "Tết Nguyên Đán Ất Tỵ (tất niên)"},
	{2025, time.January, 29, catalog.DayHoliday, "Tết Nguyên Đán Ất Tỵ (mùng 1)"},
	{2025, time.January, 30, catalog.DayHoliday, "Tết Nguyên Đán Ất Tỵ (mùng 2)"},
	{2025, time.January, 31, catalog.DayHoliday, "Tết Nguyên Đán Ất Tỵ (mùng 3)"},
	{2025, time.February, 8, catalog.DayWorking, "Làm bù cho ngày nghỉ hoán đổi 27/01"},
	{2025, time.April, 7, catalog.DayHoliday, hungKings},
	{2025, time.April, 26, catalog.DayWorking, "Làm bù cho ngày nghỉ hoán đổi 02/05"},
	{2025, time.April, 30, catalog.DayHoliday, reunification},
	{2025, time.May, 1, catalog.DayHoliday, labourDay},
	{2025, time.May, 2, catalog.DayOff, "Nghỉ hoán đổi dịp 30/4 – 1/5 (làm bù thứ Bảy 26/04)"},
	{2025, time.September, 1, catalog.DayHoliday, nationalExtra},
	{2025, time.September, 2, catalog.DayHoliday, nationalDay},

	{2026, time.January, 1, catalog.DayHoliday, newYear},
	{2026, time.February, 16, catalog.DayHoliday, "Tết Nguyên Đán Bính Ngọ (tất niên)"},
	{2026, time.February, 17, catalog.DayHoliday, "Tết Nguyên Đán Bính Ngọ (mùng 1)"},
	{2026, time.February, 18, catalog.DayHoliday, "Tết Nguyên Đán Bính Ngọ (mùng 2)"},
	{2026, time.February, 19, catalog.DayHoliday, "Tết Nguyên Đán Bính Ngọ (mùng 3)"},
	{2026, time.February, 20, catalog.DayHoliday, "Tết Nguyên Đán Bính Ngọ (mùng 4)"},
	{2026, time.April, 26, catalog.DayHoliday, hungKings},
	{2026, time.April, 27, catalog.DayOff, "Nghỉ bù Giỗ Tổ Hùng Vương (trùng Chủ nhật 26/04)"},
	{2026, time.April, 30, catalog.DayHoliday, reunification},
	{2026, time.May, 1, catalog.DayHoliday, labourDay},
	{2026, time.September, 1, catalog.DayHoliday, nationalExtra},
	{2026, time.September, 2, catalog.DayHoliday, nationalDay},

	{2027, time.January, 1, catalog.DayHoliday, newYear},
	{2027, time.February, 4, catalog.DayHoliday, "Tết Nguyên Đán Đinh Mùi (trước Tết)"},
	{2027, time.February, 5, catalog.DayHoliday, "Tết Nguyên Đán Đinh Mùi (tất niên)"},
	{2027, time.February, 6, catalog.DayHoliday, "Tết Nguyên Đán Đinh Mùi (mùng 1)"},
	{2027, time.February, 7, catalog.DayHoliday, "Tết Nguyên Đán Đinh Mùi (mùng 2)"},
	{2027, time.February, 8, catalog.DayHoliday, "Tết Nguyên Đán Đinh Mùi (mùng 3)"},
	{2027, time.February, 9, catalog.DayOff, "Nghỉ bù Tết Nguyên Đán Đinh Mùi (mùng 1 trùng thứ Bảy)"},
	{2027, time.February, 10, catalog.DayOff, "Nghỉ bù Tết Nguyên Đán Đinh Mùi (mùng 2 trùng Chủ nhật)"},
	{2027, time.April, 16, catalog.DayHoliday, hungKings},
	{2027, time.April, 30, catalog.DayHoliday, reunification},
	{2027, time.May, 1, catalog.DayHoliday, labourDay},
	{2027, time.May, 3, catalog.DayOff, "Nghỉ bù Ngày Quốc tế Lao động (trùng thứ Bảy 01/05)"},
	{2027, time.September, 2, catalog.DayHoliday, nationalDay},
	{2027, time.September, 3, catalog.DayHoliday, nationalExtra},
}

// courier is a courier's row; office indexes postOffices.
type courier struct {
	staff, name, phone string
	office             int
	vehicle            catalog.VehicleKind
	capacity           int
	start, end         int // minutes after midnight
	skills             []string
}

// Shift bounds, minutes after midnight.
const (
	at0700 = 7 * 60
	at0730 = 7*60 + 30
	at0800 = 8 * 60
	at1630 = 16*60 + 30
	at1700 = 17 * 60
	at1730 = 17*60 + 30
)

var (
	allSkills = []string{catalog.SkillCashCollection, catalog.SkillIdentityCheck}
	cashOnly  = []string{catalog.SkillCashCollection}
)

// couriers: phones are made up.
var couriers = []courier{
	{"BT01", "Nguyễn Văn Hùng", "0913245871", 0, catalog.VehicleMotorbike, 40, at0730, at1700, allSkills},
	{"BT02", "Trần Thị Thu Hà", "0908631427", 0, catalog.VehicleMotorbike, 35, at0730, at1700, allSkills},
	{"BT03", "Lê Minh Tuấn", "0977418352", 0, catalog.VehicleMotorbike, 40, at0700, at1630, allSkills},
	{"BT04", "Phạm Thị Ngọc Lan", "0938572164", 0, catalog.VehicleMotorbike, 30, at0800, at1730, allSkills},
	{"BT05", "Huỳnh Quốc Bảo", "0362819475", 0, catalog.VehicleMotorbike, 40, at0730, at1700, allSkills},
	{"BT06", "Võ Thị Mỹ Duyên", "0789354216", 0, catalog.VehicleMotorbike, 30, at0730, at1700, cashOnly},
	{"BT07", "Đặng Văn Lộc", "0856127943", 0, catalog.VehicleMotorbike, 35, at0700, at1630, allSkills},
	{"BT08", "Bùi Thanh Tâm", "0395846271", 0, catalog.VehicleMotorbike, 35, at0800, at1730, cashOnly},
	{"BT09", "Đỗ Văn Phúc", "0918273645", 1, catalog.VehicleMotorbike, 30, at0730, at1630, allSkills},
	{"BT10", "Ngô Thị Hồng Nhung", "0702519836", 1, catalog.VehicleMotorbike, 25, at0730, at1630, allSkills},
	{"BT11", "Dương Minh Khoa", "0587364192", 1, catalog.VehicleMotorbike, 30, at0730, at1700, cashOnly},
	{"BT12", "Lý Thị Kim Oanh", "0329174658", 1, catalog.VehicleBicycle, 20, at0730, at1630, cashOnly},
}

// Name parts for citizens; family names repeat to approach their real frequency (Nguyễn
// is about four in ten).
var (
	familyNames = []string{
		"Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn",
		"Trần", "Trần", "Lê", "Lê", "Phạm", "Phạm", "Huỳnh", "Hoàng", "Võ", "Đặng",
		"Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Phan", "Trương",
	}
	maleMiddle   = []string{"Văn", "Hữu", "Minh", "Quốc", "Đức", "Thành", "Công", "Hoàng", "Thanh", "Tấn"}
	femaleMiddle = []string{"Thị", "Thị", "Thị", "Ngọc", "Thanh", "Thu", "Mỹ", "Kim", "Bích", "Thùy"}
	maleGiven    = []string{
		"An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Huy", "Khang",
		"Khánh", "Long", "Lộc", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tài",
		"Thắng", "Thịnh", "Trung", "Tuấn", "Vinh",
	}
	femaleGiven = []string{
		"Anh", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan",
		"Linh", "Loan", "Mai", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Thảo", "Trang",
		"Trinh", "Tuyết", "Vân", "Vy", "Yến",
	}
	// Mobile prefixes of the three big networks.
	mobilePrefixes = []string{
		"032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078", "079",
		"081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093", "094", "096", "097", "098",
	}
)
